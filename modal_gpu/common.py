"""The Modal app every worker module registers on, and what they share."""

from __future__ import annotations

import modal

from omtx.settings import get_settings

MINUTES = 60

app = modal.App(get_settings().modal_app)

# GCP access for workers (they write outputs to Cloud Storage and publish `job-done`).
gcp_secret = modal.Secret.from_name("omtx-gcp")

# Pinned to what the platform is tested with; every image adds the shared core on top.
CORE_PACKAGES = (
    "pydantic==2.14.4",
    "pydantic-settings==2.16.3",
    "google-cloud-storage==3.17.1",
    "google-cloud-pubsub==2.44.0",
)
