"""CPU models (`rdkit_props`, `vina`, `instant`) on Modal CPU containers."""

from __future__ import annotations

import modal

from modal_gpu.common import CORE_PACKAGES, MINUTES, POSE_CHECK_PACKAGES, app, gcp_secret, use_gcp_identity

cpu_image = (
    modal.Image.debian_slim(python_version="3.11")
    .uv_pip_install(
        *CORE_PACKAGES, *POSE_CHECK_PACKAGES, "rdkit==2026.9.1", "vina==1.2.7", "meeko==0.8.0", "scipy==1.17.1"
    )
    .add_local_python_source("omtx")
)


@app.function(
    image=cpu_image,
    cpu=2.0,
    memory=2048,
    timeout=30 * MINUTES,
    retries=modal.Retries(max_retries=2, backoff_coefficient=2.0, initial_delay=5.0),
    secrets=[gcp_secret],
)
def run_cpu_work_order(order_json: str) -> int:
    """One chunk of a CPU model's ligands; returns how many were reported."""
    from omtx.worker import run_work_order_json

    use_gcp_identity()
    return run_work_order_json(order_json)
