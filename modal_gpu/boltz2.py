"""Boltz-2 on Modal: a GPU class that runs work orders, a CPU function that computes each
protein's MSA once, and a one-off weights download.

The image holds two Python environments. Boltz 2.2.1 pins wandb 0.18.7 (protobuf < 6), the
platform's Pub/Sub client needs protobuf >= 6.33, so Boltz lives in its own virtualenv at
/opt/boltz with `boltz` linked onto PATH, and the worker (system Python) drives it through the
CLI (omtx.predictors.boltz2.tool). Weights live on a Volume that is the Boltz cache.
"""

from __future__ import annotations

from pathlib import Path

import modal

from modal_gpu.common import (
    CORE_PACKAGES,
    MINUTES,
    POSE_CHECK_PACKAGES,
    app,
    gcp_secret,
    msa_sequence,
    use_gcp_identity,
)
from omtx.predictors import boltz2 as model
from omtx.settings import get_settings

WEIGHTS_DIR = "/weights/boltz2"
BOLTZ_VENV = "/opt/boltz"
UV_VERSION = "0.13.8"
# Pinned beside boltz so a rebuild never picks up a newer torch or cuEquivariance than its
# release knew (left free, they resolve to torch 2.15 and cuEquivariance 0.13). This set
# resolves (uv pip compile, Python 3.11, manylinux); it has not been run on a GPU here.
BOLTZ_PACKAGES = (
    "boltz[cuda]==2.2.1",
    "torch==2.8.0",
    "cuequivariance==0.6.1",
    "cuequivariance-torch==0.6.1",
    "cuequivariance-ops-torch-cu12==0.6.1",
    "rdkit==2025.3.6",
)

boltz2_weights = modal.Volume.from_name("omtx-boltz2-weights", create_if_missing=True)

boltz2_image = (
    modal.Image.debian_slim(python_version="3.11")
    .pip_install(f"uv=={UV_VERSION}")
    .run_commands(
        f"uv venv --python /usr/local/bin/python3.11 {BOLTZ_VENV}",
        f"uv pip install --python {BOLTZ_VENV}/bin/python --no-cache " + " ".join(f"'{p}'" for p in BOLTZ_PACKAGES),
        f"ln -s {BOLTZ_VENV}/bin/boltz /usr/local/bin/boltz",
        "boltz predict --help > /dev/null",
    )
    # The worker's side; rdkit because the model registry imports every model's parameters.
    .uv_pip_install(*CORE_PACKAGES, *POSE_CHECK_PACKAGES, "rdkit==2026.9.1", "pyyaml==6.0.3")
    .env({"BOLTZ_CACHE": WEIGHTS_DIR})
    .add_local_python_source("omtx")
)


GPU: str = get_settings().modal_boltz2_gpu or model.MODAL_GPU
# A chunk at the spec's pace, three times over, plus the start-up.
TIMEOUT_S: int = get_settings().modal_boltz2_timeout_s or int(
    3 * model.SPEC.chunk_size * model.SPEC.cost.seconds_per_ligand + 10 * MINUTES
)
MSA_TIMEOUT_S: int = get_settings().modal_msa_timeout_s or 40 * MINUTES


@app.function(
    image=boltz2_image,
    cpu=1.0,
    memory=2048,
    timeout=MSA_TIMEOUT_S,
    # One search at a time: concurrent chunks of a new protein queue here and then hit the
    # cache, and the ColabFold server is never sent the same protein twice (MODELS.md A.8).
    max_containers=1,
    retries=modal.Retries(max_retries=2, backoff_coefficient=2.0, initial_delay=30.0),
    secrets=[gcp_secret],
)
def boltz2_msa(sequence: str) -> int:
    """The protein's ColabFold MSA in the cache (computed unless it is there); its depth."""
    from omtx.predictors.boltz2 import msa, tool
    from omtx.predictors.msa_cache import GcsMsaStore

    store = GcsMsaStore(get_settings().results_bucket)
    return msa.a3m_depth(msa.boltz2_msa(sequence, store, tool.colabfold_a3m))


@app.function(image=boltz2_image, cpu=4.0, memory=8192, timeout=60 * MINUTES, volumes={WEIGHTS_DIR: boltz2_weights})
def fetch_boltz2_weights() -> list[str]:
    """Run once before the first batch: `modal run modal_gpu/boltz2.py::fetch_boltz2_weights`."""
    from omtx.predictors.boltz2 import tool

    tool.download_weights(Path(WEIGHTS_DIR))
    boltz2_weights.commit()
    return sorted(p.name for p in Path(WEIGHTS_DIR).iterdir())


@app.cls(
    image=boltz2_image,
    gpu=GPU,
    cpu=8.0,
    memory=32768,
    volumes={WEIGHTS_DIR: boltz2_weights},
    secrets=[gcp_secret],
    timeout=TIMEOUT_S,
    startup_timeout=30 * MINUTES,
    scaledown_window=120,
    retries=modal.Retries(max_retries=1, backoff_coefficient=2.0, initial_delay=10.0),
)
class Boltz2:
    @modal.enter()
    def prepare(self) -> None:
        """Once per container: the weights on the Volume (downloaded by the first container
        that finds them missing), so no chunk pays for a download."""
        use_gcp_identity()
        from omtx.predictors.boltz2 import tool

        cache = Path(WEIGHTS_DIR)
        if tool.missing_weights(cache):
            boltz2_weights.reload()  # another container may have fetched them meanwhile
        if tool.missing_weights(cache):
            tool.download_weights(cache)
            boltz2_weights.commit()

    @modal.method()
    def run(self, order_json: str) -> int:
        """One chunk: the protein's MSA first (a cache hit but for a batch's first chunks), then
        the worker, which stores every ligand's outputs and publishes its job-done."""
        from omtx.worker import run_work_order_json

        sequence = msa_sequence(order_json, model.Boltz2Params)
        if sequence is not None:
            boltz2_msa.remote(sequence)
        return run_work_order_json(order_json)
