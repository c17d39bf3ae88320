"""Modal app `omtx-hub`. Deploy with `modal deploy modal_gpu/app.py`.

Each model's Modal code lives in its own module, registered on the one app in `common`; this
module imports them all so one deploy ships every worker. Workers run the same `omtx.worker`
function as the local executor: outputs go to Cloud Storage and each ligand's `job-done` is
published to Pub/Sub. GCP access comes from the `omtx-gcp` Modal secret (see infra/README.md).
"""

from __future__ import annotations

from modal_gpu.common import app
from modal_gpu.cpu import run_cpu_work_order

__all__ = ["app", "run_cpu_work_order"]
