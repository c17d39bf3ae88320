"""RFantibody (`rfantibody` model) on Modal GPUs.

The image is the repository's own install, pinned: its Dockerfile's CUDA 11.8 base, a clone at
RFANTIBODY_COMMIT and `uv sync` from its uv.lock (Python 3.10, torch 2.3 cu118, the DGL wheel the
lock names) in /opt/rfantibody/.venv. The worker itself runs on the image's Python 3.11 and starts
the three CLIs from that virtualenv (omtx/predictors/rfantibody/commands.py::tool_env).

Weights (include/download_weights.sh: RFdiffusion_Ab.pt, ProteinMPNN_v48_noise_0.2.pt, RF2_ab.pt)
live on the `rfantibody-weights` Volume: the first container to start downloads what is missing and
commits it; later containers only read. Prefetch them without a GPU:
`modal run modal_gpu/rfantibody.py::fetch_rfantibody_weights`.
"""

from __future__ import annotations

import os
from pathlib import Path

import modal

from modal_gpu.common import CORE_PACKAGES, MINUTES, POSE_CHECK_PACKAGES, app, gcp_secret, use_gcp_identity
from omtx.predictors.rfantibody import GPU
from omtx.predictors.rfantibody.commands import RFANTIBODY_COMMIT, RFANTIBODY_REPO, WEIGHT_FILES, WEIGHTS_URL

RFANTIBODY_ROOT = "/opt/rfantibody"
WEIGHTS_DIR = "/weights"
UV_VERSION = "0.13.8"

weights_volume = modal.Volume.from_name("rfantibody-weights", create_if_missing=True)

rfantibody_image = (
    modal.Image.from_registry("nvidia/cuda:11.8.0-cudnn8-devel-ubuntu22.04", add_python="3.11")
    .apt_install("git", "wget", "curl", "ca-certificates")
    .pip_install(f"uv=={UV_VERSION}")
    .run_commands(
        f"git clone {RFANTIBODY_REPO} {RFANTIBODY_ROOT}",
        f"git -C {RFANTIBODY_ROOT} checkout --detach {RFANTIBODY_COMMIT}",
        # --frozen: exactly the repository's uv.lock, never a fresh resolution
        f"cd {RFANTIBODY_ROOT} && uv sync --frozen",
        f"{RFANTIBODY_ROOT}/.venv/bin/rfdiffusion --help > /dev/null",
    )
    # The worker's own dependencies; rdkit because the model registry imports every model's parameters.
    .uv_pip_install(*CORE_PACKAGES, *POSE_CHECK_PACKAGES, "rdkit==2026.9.1")
    .env({"RFANTIBODY_ROOT": RFANTIBODY_ROOT, "RFANTIBODY_WEIGHTS": WEIGHTS_DIR})
    .add_local_python_source("omtx")
)


def missing_weights(directory: Path) -> list[str]:
    return [name for name in WEIGHT_FILES.values() if not (directory / name).is_file()]


def download_weights(directory: Path) -> list[str]:
    """Fetches the missing weight files into directory; each lands under its name only when
    complete, so an interrupted download is fetched again, never read half-written."""
    import urllib.request

    fetched = []
    for name in missing_weights(directory):
        partial = directory / f".{name}.partial"
        with urllib.request.urlopen(f"{WEIGHTS_URL}{name}", timeout=60) as response, partial.open("wb") as out:
            while chunk := response.read(1 << 20):
                out.write(chunk)
        partial.replace(directory / name)
        fetched.append(name)
    return fetched


@app.function(
    image=rfantibody_image,
    volumes={WEIGHTS_DIR: weights_volume},
    timeout=30 * MINUTES,
)
def fetch_rfantibody_weights() -> list[str]:
    fetched = download_weights(Path(WEIGHTS_DIR))
    weights_volume.commit()
    return fetched


@app.cls(
    image=rfantibody_image,
    gpu=GPU,
    cpu=4.0,
    memory=32 * 1024,
    volumes={WEIGHTS_DIR: weights_volume},
    secrets=[gcp_secret],
    # one job's budget is at most 5 h (RfantibodyParams.timeout_s); the worker reports before this
    timeout=6 * 60 * MINUTES,
    # the first container may download ~1 GB of weights in setup
    startup_timeout=30 * MINUTES,
    scaledown_window=120,
    retries=modal.Retries(max_retries=2, backoff_coefficient=2.0, initial_delay=5.0),
)
class RFAntibody:
    @modal.enter()
    def setup(self) -> None:
        use_gcp_identity()
        weights = Path(os.environ.get("RFANTIBODY_WEIGHTS", WEIGHTS_DIR))
        if missing_weights(weights):
            weights_volume.reload()  # another container may have fetched them meanwhile
        if download_weights(weights):
            weights_volume.commit()

    @modal.method()
    def run(self, order_json: str) -> int:
        """One work order of rfantibody design jobs; returns how many were reported."""
        from omtx.worker import run_work_order_json

        return run_work_order_json(order_json)
