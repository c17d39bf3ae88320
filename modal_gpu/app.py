"""Modal app `omtx-hub`. Deploy with `modal deploy modal_gpu/app.py`.

Workers run the same `omtx.worker` function as the local executor: outputs go to Cloud Storage and
each ligand's `job-done` is published to Pub/Sub. GCP access comes from the `omtx-gcp` Modal
secret (a service-account key or workload-identity credentials in GOOGLE_APPLICATION_CREDENTIALS
form, plus OMTX_* settings); issue 7 replaces it with keyless federation.
"""

from __future__ import annotations

import modal

from omtx.settings import get_settings

MINUTES = 60

app = modal.App(get_settings().modal_app)

cpu_image = (
    modal.Image.debian_slim(python_version="3.11")
    .uv_pip_install(
        "rdkit==2026.9.1",
        "pydantic==2.14.4",
        "pydantic-settings==2.16.3",
        "google-cloud-storage==3.17.1",
        "google-cloud-pubsub==2.44.0",
    )
    .add_local_python_source("omtx")
)


@app.function(
    image=cpu_image,
    cpu=2.0,
    memory=2048,
    timeout=30 * MINUTES,
    retries=modal.Retries(max_retries=2, backoff_coefficient=2.0, initial_delay=5.0),
    secrets=[modal.Secret.from_name("omtx-gcp")],
)
def run_cpu_work_order(order_json: str) -> int:
    """One chunk of a CPU model's ligands; returns how many were reported."""
    from omtx.worker import run_work_order_json

    return run_work_order_json(order_json)
