"""Chai-1 on Modal: a GPU class that runs work orders with chai_lab in process (ESM2 loaded once
per container), a CPU function that computes each protein's MSA once, and a one-off weights
download. chai_lab 0.6.1 and the platform's pinned clients resolve together, so one
environment holds both. Weights live on a Volume that is CHAI_DOWNLOADS_DIR."""

from __future__ import annotations

from pathlib import Path

import modal

from modal_gpu.common import CORE_PACKAGES, MINUTES, app, gcp_secret, msa_sequence, use_gcp_identity
from omtx.predictors import chai1 as model
from omtx.settings import get_settings

WEIGHTS_DIR = "/weights/chai1"
# chai_lab 0.6.1 allows torch >=2.3.1,<2.7: pinned to the newest of those.
CHAI_PACKAGES = ("chai_lab==0.6.1", "torch==2.6.0")

chai1_weights = modal.Volume.from_name("omtx-chai1-weights", create_if_missing=True)

chai1_image = (
    modal.Image.debian_slim(python_version="3.11")
    # chai_lab brings gemmi itself (pinned to its own version): only PoseBusters is added
    .uv_pip_install(*CHAI_PACKAGES, *CORE_PACKAGES, "posebusters==0.6.5")
    .env({"CHAI_DOWNLOADS_DIR": WEIGHTS_DIR})
    .add_local_python_source("omtx")
)


GPU: str = get_settings().modal_chai1_gpu or model.MODAL_GPU
TIMEOUT_S: int = get_settings().modal_chai1_timeout_s or int(
    3 * model.SPEC.chunk_size * model.SPEC.cost.seconds_per_ligand + 10 * MINUTES
)
MSA_TIMEOUT_S: int = get_settings().modal_msa_timeout_s or 40 * MINUTES


@app.function(
    image=chai1_image,
    cpu=1.0,
    memory=4096,
    timeout=MSA_TIMEOUT_S,
    # One search at a time: concurrent chunks of a new protein queue here and then hit the cache.
    max_containers=1,
    retries=modal.Retries(max_retries=2, backoff_coefficient=2.0, initial_delay=30.0),
    secrets=[gcp_secret],
)
def chai1_msa(sequence: str) -> int:
    """The protein's ColabFold MSA (.aligned.pqt) in the cache, computed unless it is there; its size."""
    from omtx.predictors.chai1 import msa
    from omtx.predictors.msa_cache import GcsMsaStore

    store = GcsMsaStore(get_settings().results_bucket)
    return len(msa.chai1_msa(sequence, store, msa.colabfold_aligned_pqt))


@app.function(image=chai1_image, cpu=4.0, memory=8192, timeout=60 * MINUTES, volumes={WEIGHTS_DIR: chai1_weights})
def fetch_chai1_weights() -> list[str]:
    """Run once before the first batch: `modal run modal_gpu/chai1.py::fetch_chai1_weights`."""
    from omtx.predictors.chai1 import inference

    paths = inference.download_weights()
    chai1_weights.commit()
    return [str(p) for p in paths]


@app.cls(
    image=chai1_image,
    gpu=GPU,
    cpu=4.0,
    memory=32768,
    volumes={WEIGHTS_DIR: chai1_weights},
    secrets=[gcp_secret],
    timeout=TIMEOUT_S,
    startup_timeout=30 * MINUTES,
    scaledown_window=120,
    retries=modal.Retries(max_retries=1, backoff_coefficient=2.0, initial_delay=10.0),
)
class Chai1:
    @modal.enter()
    def prepare(self) -> None:
        """Once per container: weights on the Volume (fetched by the first container that
        misses them) and ESM2-3B loaded, which chai_lab then keeps between calls."""
        use_gcp_identity()
        from omtx.predictors.chai1 import inference

        if inference.missing_weights(Path(WEIGHTS_DIR)):
            chai1_weights.reload()  # another container may have fetched them meanwhile
        if inference.missing_weights(Path(WEIGHTS_DIR)):
            inference.download_weights()
            chai1_weights.commit()
        inference.warm_up()

    @modal.method()
    def run(self, order_json: str) -> int:
        """One chunk: the protein's MSA first (a cache hit but for a batch's first chunks), then
        the worker, which stores every ligand's outputs and publishes its job-done."""
        from omtx.worker import run_work_order_json

        sequence = msa_sequence(order_json, model.Chai1Params)
        if sequence is not None:
            chai1_msa.remote(sequence)
        return run_work_order_json(order_json)
