"""Modal app `omtx-hub`. Deploy with `modal deploy modal_gpu/app.py`.

Each model's Modal code lives in its own module, registered on the one app in `common`; this
module imports them all so one deploy ships every worker. Workers run the same `omtx.worker`
function as the local executor: outputs go to Cloud Storage and each ligand's `job-done` is
published to Pub/Sub. GCP access comes from the `omtx-gcp` Modal secret (see infra/README.md).
"""

from __future__ import annotations

from modal_gpu.boltz2 import Boltz2, boltz2_msa, fetch_boltz2_weights
from modal_gpu.chai1 import Chai1, chai1_msa, fetch_chai1_weights
from modal_gpu.common import app
from modal_gpu.cpu import run_cpu_work_order
from modal_gpu.rfantibody import RFAntibody, fetch_rfantibody_weights

__all__ = [
    "Boltz2",
    "Chai1",
    "RFAntibody",
    "app",
    "boltz2_msa",
    "chai1_msa",
    "fetch_boltz2_weights",
    "fetch_chai1_weights",
    "fetch_rfantibody_weights",
    "run_cpu_work_order",
]
