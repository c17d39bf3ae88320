"""The Modal app every worker module registers on, and what they share."""

from __future__ import annotations

import os
from pathlib import Path

import modal
from pydantic import BaseModel

from omtx.settings import get_settings

MINUTES = 60

app = modal.App(get_settings().modal_app)

# GCP access for workers (they write outputs to Cloud Storage, publish `job-done` and renew their
# call's lease in Firestore).
gcp_secret = modal.Secret.from_name("omtx-gcp")

# Pinned to what the platform is tested with; every image adds the shared core on top.
CORE_PACKAGES = (
    "pydantic==2.14.4",
    "pydantic-settings==2.16.3",
    "google-cloud-storage==3.17.1",
    "google-cloud-pubsub==2.44.0",
    "google-cloud-firestore==2.34.1",  # the worker's heartbeat (omtx/heartbeat.py)
)

# What every worker that returns a structure needs for its pose checks (omtx/poses): PoseBusters
# (it brings pandas) and gemmi, which reads the structure.
POSE_CHECK_PACKAGES = ("posebusters==0.6.5", "gemmi==0.7.5")

# Keyless GCP access (infra/omtx_infra/federation.py): the `omtx-gcp` secret carries an
# external-account credential configuration, whose subject token is this container's Modal OIDC
# identity token, read from a file.
TOKEN_FILE = Path("/tmp/omtx/modal-identity-token")
CREDENTIAL_CONFIG_FILE = Path("/tmp/omtx/gcp-credentials.json")


def use_gcp_identity() -> None:
    """Before the first Google client: write the token and the configuration where Google's auth
    library looks. A secret that holds a service-account key file path instead is left alone."""
    token = os.environ.get("MODAL_IDENTITY_TOKEN")
    config = os.environ.get("OMTX_GCP_CREDENTIAL_CONFIG")
    if not token or not config:
        return
    TOKEN_FILE.parent.mkdir(parents=True, exist_ok=True)
    TOKEN_FILE.write_text(token)
    CREDENTIAL_CONFIG_FILE.write_text(config)
    os.environ["GOOGLE_APPLICATION_CREDENTIALS"] = str(CREDENTIAL_CONFIG_FILE)


def msa_sequence(order_json: str, params_type: type[BaseModel]) -> str | None:
    """The protein whose MSA an order needs, or None when the model runs single-sequence."""
    from omtx.worker import WorkOrder

    order = WorkOrder.model_validate_json(order_json)
    params = params_type.model_validate(order.params)
    return order.protein.sequence if getattr(params, "msa", None) == "colabfold" else None
