"""The one settings object. Every value comes from `OMTX_*` environment variables."""

from __future__ import annotations

import shutil
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OMTX_", frozen=True)

    project: str = "omtx-local"
    tenant: str = "default"
    inputs_bucket: str = "omtx-inputs"
    results_bucket: str = "omtx-results"
    drops_prefix: str = "drops/"

    topic_submitted: str = "submitted"
    topic_dispatched: str = "dispatched"
    topic_job_done: str = "job-done"
    topic_batch_done: str = "batch-done"
    topic_bucket_events: str = "bucket-events"
    topic_webhooks: str = "webhooks"
    topic_campaign_done: str = "campaign-done"

    # cloud: deployed on GCP (spans exported to Cloud Trace, webhook URLs must be public https,
    # a configured webhook signing key). local: the dev stack and tests.
    deployment: Literal["local", "cloud"] = "local"

    executor: Literal["local", "modal"] = "local"
    local_workers: int = Field(2, ge=1, le=64)
    modal_app: str = "omtx-hub"
    # Deploy-time overrides of the Modal GPU workers (None: the figures in each model's spec)
    modal_boltz2_gpu: str | None = None
    modal_boltz2_timeout_s: int | None = Field(None, ge=60)
    modal_chai1_gpu: str | None = None
    modal_chai1_timeout_s: int | None = Field(None, ge=60)
    modal_msa_timeout_s: int | None = Field(None, ge=60)
    # The upper bound of a healthy run of one job (a model's spec may set its own); a dead worker
    # is found by its lease instead, long before.
    job_deadline_s: int = Field(900, ge=1)
    # A running executor call renews the lease of its jobs every heartbeat_s (one write per call);
    # the reconciler takes back the jobs of a call whose lease lapsed (worker dead or finished).
    lease_s: int = Field(30, ge=2)
    heartbeat_s: float = Field(10.0, gt=0)
    # A job a live worker reported this long ago and that is still dispatched lost its job-done
    # message: the reconciler records it from the results.json the worker stored.
    report_grace_s: int = Field(60, ge=0)
    # Worker calls a model may have in flight, overriding its spec (JSON: {"boltz2": 40}); above
    # it, dispatch answers `submitted` with a retryable error and Pub/Sub's backoff holds the work.
    max_calls_in_flight: dict[str, int] = Field(default_factory=dict)
    job_max_attempts: int = Field(3, ge=1, le=20)
    reconcile_interval_s: int = Field(15, ge=1)
    queued_grace_s: int = Field(300, ge=0)  # a job queued longer than this lost its message

    # Tests and the local stack only: rfantibody jobs run a CPU stand-in of its three tools that
    # writes their file formats with made-up designs (omtx/predictors/rfantibody/standin.py);
    # every result it produces is marked as the stand-in's.
    rfantibody_standin: bool = False

    max_ligands: int = Field(100_000, ge=1)
    # Above fanout_from ligands, submit answers 202 once the input is stored and the job documents
    # are written in the background, fanout_range ligands per `submitted` message.
    fanout_from: int = Field(1_000, ge=1)
    fanout_range: int = Field(1_000, ge=1)
    max_body_bytes: int = Field(64 * 2**20, ge=1024)
    max_drop_bytes: int = Field(64 * 2**20, ge=1024)  # a CSV or SMILES drop, read whole
    # An SD file is streamed (memory holds one record and the SMILES so far): 100,000 3D records
    # with hydrogens are about 0.5 GB.
    max_drop_sdf_bytes: int = Field(2 * 2**30, ge=1024)
    # longer than the slowest submission (100,000 ligands), so a retry never takes over a live one
    idempotency_lease_s: int = Field(900, ge=5)
    # Production Firestore sustains about one write/s per document, so completions spread over
    # shards; each shard covers at most this many jobs.
    jobs_per_counter_shard: int = Field(100, ge=1)
    max_counter_shards: int = Field(256, ge=1)
    finalize_lease_s: int = Field(300, ge=5)
    # Results views: finished batches' tables kept in memory per API process (a bounded LRU; the
    # API runs 2 processes in 2 GiB), and the largest running batch whose facets are computed
    # by reading all its jobs from Firestore.
    results_cache_mb: int = Field(384, ge=0)
    results_live_scan_max: int = Field(20_000, ge=0)
    publish_timeout_s: float = 30.0

    # Webhooks: each batch's signing secret is derived from this key (omtx/webhooks/signing.py);
    # from Secret Manager in the cloud, a fixed development key in the local stack when unset.
    webhook_signing_key: SecretStr | None = None
    webhook_timeout_s: float = Field(10.0, gt=0, le=30)
    webhook_max_attempts: int = Field(12, ge=1, le=50)
    # Attempt n+1 is due min(backoff_max, backoff * 2**(n-1)) after attempt n; the reconciler's
    # next pass (reconcile_interval_s here, the Scheduler's minute in the cloud) sends it.
    webhook_backoff_s: float = Field(5.0, ge=0)
    webhook_backoff_max_s: float = Field(900.0, ge=0)

    # Local stack: every port derives from base_port so parallel stacks never collide.
    host: str = "127.0.0.1"
    base_port: int = Field(8700, ge=1024, le=65000)
    state_dir: Path = Path(".omtx")
    # The local Firestore is exported this often (and on `dev down`), so data survives a reboot.
    snapshot_interval_s: int = Field(60, ge=5)
    gcloud_sdk_root: Path | None = None
    api_url: str | None = None
    push_ack_deadline_s: int = Field(60, ge=10, le=600)
    push_min_backoff_s: int = Field(1, ge=0, le=600)
    push_max_backoff_s: int = Field(30, ge=0, le=600)
    max_delivery_attempts: int = Field(5, ge=5, le=100)

    # Who may call the API. off: every caller is `tenant`, with operator rights (omtx dev, most
    # tests); api_key: every /v1 request carries a key (Authorization: Bearer, or X-API-Key where
    # Cloud Run IAM already uses the Authorization header), which names its tenant and tier.
    auth: Literal["off", "api_key"] = "off"
    api_key: SecretStr | None = None  # the key the CLI sends
    # Requests per minute per key, by tier (a fixed window shared by every instance, in Firestore).
    rate_free_per_min: int = Field(60, ge=1)
    rate_pro_per_min: int = Field(600, ge=1)
    rate_admin_per_min: int = Field(1200, ge=1)
    # GPU-seconds a new tenant may spend, by the tier of its first key (`omtx keys create`).
    budget_free_gpu_s: float = Field(3_600, ge=0)
    budget_pro_gpu_s: float = Field(360_000, ge=0)
    budget_admin_gpu_s: float = Field(3_600_000, ge=0)
    # Submit's push routes (/pubsub/bucket-events, /internal/reconcile). oidc: each request carries
    # a Google-signed ID token for push_audience (the service URL), from the Pub/Sub push identity
    # or the Cloud Scheduler identity respectively. The emulators send no token: off locally.
    push_auth: Literal["off", "oidc"] = "off"
    push_audience: str | None = None
    push_service_account: str | None = None
    scheduler_service_account: str | None = None

    @model_validator(mode="after")
    def _heartbeat_within_lease(self) -> Settings:
        # Two heartbeats fit in a lease: one lost write does not lapse a healthy call.
        if self.heartbeat_s * 2 > self.lease_s:
            raise ValueError(f"heartbeat_s ({self.heartbeat_s}) must be at most half of lease_s ({self.lease_s})")
        return self

    @model_validator(mode="after")
    def _push_identities_given(self) -> Settings:
        if self.push_auth == "oidc":
            missing = [
                f"OMTX_{name.upper()}"
                for name in ("push_audience", "push_service_account", "scheduler_service_account")
                if not getattr(self, name)
            ]
            if missing:
                raise ValueError(f"push_auth=oidc needs {', '.join(missing)}")
        return self

    @property
    def firestore_port(self) -> int:
        return self.base_port

    @property
    def pubsub_port(self) -> int:
        return self.base_port + 1

    @property
    def gcs_port(self) -> int:
        return self.base_port + 2

    def service_port(self, service: str) -> int:
        return self.base_port + 10 + SERVICES.index(service)

    @property
    def api_base_url(self) -> str:
        return self.api_url or f"http://{self.host}:{self.service_port('submit')}"

    def emulator_env(self) -> dict[str, str]:
        """Environment that points the Google client libraries at the local stack."""
        return {
            "FIRESTORE_EMULATOR_HOST": f"{self.host}:{self.firestore_port}",
            "PUBSUB_EMULATOR_HOST": f"{self.host}:{self.pubsub_port}",
            "STORAGE_EMULATOR_HOST": f"http://{self.host}:{self.gcs_port}",
            "GOOGLE_CLOUD_PROJECT": self.project,
        }

    def sdk_root(self) -> Path:
        if self.gcloud_sdk_root:
            return self.gcloud_sdk_root
        gcloud = shutil.which("gcloud")
        if not gcloud:
            raise FileNotFoundError(
                "Google Cloud SDK not found: install it (with the Firestore and Pub/Sub emulator "
                "components) or set OMTX_GCLOUD_SDK_ROOT"
            )
        return Path(gcloud).resolve().parent.parent


SERVICES: tuple[str, ...] = ("submit", "dispatch", "complete", "aggregate")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
