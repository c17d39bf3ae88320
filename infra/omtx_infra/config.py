"""The stack's configuration: one typed object, read from Pulumi config with defaults.

Keys are the camelCase of the field names (`pulumi config set imageTag 3f9c2e1`,
`pulumi config set --path 'services.aggregate.memory' 8Gi`). `project` and `region` fall back to
`gcp:project` and `gcp:region`, so the provider and the program never disagree. The Modal token
is read as Pulumi secrets only. The services' own settings (`omtx.settings.Settings`) are built
here from the same values, so the names this program creates are the names the code uses.
"""

from __future__ import annotations

import json
from functools import cached_property
from types import NoneType, UnionType
from typing import Any, get_args

import pulumi
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from omtx.settings import SERVICES, Settings

# Pub/Sub holds a drop's push open up to this long: validating a 100,000-row CSV takes minutes.
# Mirrors LONG_ACK_DEADLINE of the local stack (omtx/devstack/provision.py).
DROP_ACK_DEADLINE_S = 600


class ServiceConfig(BaseModel):
    """Sizing of one Cloud Run service."""

    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True)

    cpu: str = "1"
    memory: str = "1Gi"
    concurrency: int = Field(16, ge=1, le=1000)
    min_instances: int = Field(0, ge=0)
    max_instances: int = Field(10, ge=1)
    timeout_s: int = Field(60, ge=1, le=3600)
    # gunicorn processes; each gets concurrency / workers threads (the GIL binds a process to a core)
    workers: int = Field(1, ge=1)


DEFAULT_SERVICES: dict[str, ServiceConfig] = {
    # The API validates submissions on every core and serves drops, whose push waits up to 600 s.
    "submit": ServiceConfig(cpu="2", memory="2Gi", concurrency=16, timeout_s=DROP_ACK_DEADLINE_S, workers=2),
    "dispatch": ServiceConfig(),
    "complete": ServiceConfig(concurrency=32),
    # Finalising a 100,000-job batch reads every job and writes CSV, Parquet and the HTML report.
    "aggregate": ServiceConfig(cpu="2", memory="4Gi", concurrency=2, max_instances=5, timeout_s=600),
}


class _DeployedSettings(Settings):
    """The services' settings as deployed: from the stack config only, never from the
    environment of whoever runs `pulumi up`."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


# Settings this program decides; the rest may be tuned through `appSettings`.
_OWNED_SETTINGS = ("project", "inputs_bucket", "results_bucket", "executor", "deployment", "auth")
# Settings the deployed code reads that name something this program creates or configures.
_EXPORTED_SETTINGS = (
    *_OWNED_SETTINGS,
    "tenant",
    "drops_prefix",
    "topic_submitted",
    "topic_dispatched",
    "topic_job_done",
    "topic_batch_done",
    "topic_bucket_events",
    "topic_webhooks",
    "topic_campaign_done",
    "modal_app",
    "deployment",
    "auth",
)


class InfraConfig(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        arbitrary_types_allowed=True,
    )

    project: str
    region: str = "us-central1"
    # Firestore location (a region such as us-central1, or nam5/eur3); the Eventarc trigger lives there too.
    firestore_location: str | None = None
    image_tag: str
    repository: str = "omtx"

    # Off: callers need roles/run.invoker (apiInvokers) and an identity token. On: anyone may call
    # the API, and with it /internal/reconcile and /pubsub/bucket-events (see infra/README.md).
    api_public: bool = False
    api_invokers: tuple[str, ...] = ()
    services: dict[str, ServiceConfig] = Field(default_factory=lambda: dict(DEFAULT_SERVICES))

    inputs_bucket: str | None = None
    results_bucket: str | None = None
    bucket_location: str | None = None
    inputs_retention_days: int = Field(30, ge=1)
    results_nearline_after_days: int = Field(30, ge=1)
    results_retention_days: int = Field(365, ge=1)

    # Production values; the local stack retries faster (1–30 s) so tests finish quickly.
    push_ack_deadline_s: int = Field(60, ge=10, le=600)
    push_min_backoff_s: int = Field(10, ge=0, le=600)
    push_max_backoff_s: int = Field(600, ge=0, le=600)
    max_delivery_attempts: int = Field(5, ge=5, le=100)

    reconcile_schedule: str = "* * * * *"
    idempotency_key_ttl_days: int = Field(7, ge=1)
    rejection_ttl_days: int = Field(90, ge=1)
    # Job fields and metrics the results API may order by (each gets its composite indexes); the
    # defaults are every registered model's primary metric (tests/infra checks they stay so).
    sortable_job_fields: tuple[str, ...] = (
        "duration_s",
        "metrics.qed",
        "metrics.score",
        "metrics.vina_score",
        "metrics.affinity_probability_binary",
        "metrics.aggregate_score",
        "metrics.best_interaction_pae",
    )
    # Boolean metrics a running batch's results may be filtered on (`pb_valid=true`): each gets
    # indexes with every sortable field (tests/infra checks every model's booleans are here).
    flag_job_fields: tuple[str, ...] = (
        "metrics.pb_valid",
        "metrics.lipinski_pass",
        "metrics.fits_box",
        "metrics.has_clashes",
        "metrics.has_inter_chain_clashes",
        "metrics.best_passes_filters",
    )

    modal_workspace_id: str = Field(pattern=r"^ac-[A-Za-z0-9]+$")
    modal_environment: str = "main"
    modal_token_id: pulumi.Output[str]
    modal_token_secret: pulumi.Output[str]

    alert_email: str | None = None
    # A delivery unacknowledged this long, or overdue jobs found this long, means work is stuck.
    stuck_after_s: int = Field(1800, ge=300)

    # Other `omtx.settings.Settings` values for the services and the Modal workers (job_deadline_s, …).
    app_settings: dict[str, Any] = Field(default_factory=dict)

    @field_validator("services", mode="before")
    @classmethod
    def _merge_service_defaults(cls, value: dict[str, Any]) -> dict[str, Any]:
        unknown = set(value) - set(SERVICES)
        if unknown:
            raise ValueError(f"unknown services {sorted(unknown)}; the services are {list(SERVICES)}")
        merged: dict[str, Any] = {}
        for name, default in DEFAULT_SERVICES.items():
            # Only the keys given change: `services.aggregate.memory` keeps aggregate's other defaults.
            given = {to_camel(key): item for key, item in value.get(name, {}).items()}
            merged[name] = ServiceConfig.model_validate(default.model_dump(by_alias=True) | given)
        return merged

    @field_validator("app_settings")
    @classmethod
    def _no_owned_settings(cls, value: dict[str, Any]) -> dict[str, Any]:
        owned = sorted(set(value) & set(_OWNED_SETTINGS))
        if owned:
            raise ValueError(f"{owned} are set by the stack (project, inputsBucket, resultsBucket; executor is modal)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> InfraConfig:
        # A push request lasts as long as the subscription's ack deadline; a service that gives up
        # sooner answers 504 and the message is redelivered while the first request still runs.
        ack = self.push_ack_deadline_s
        pushed = {"submit": DROP_ACK_DEADLINE_S, "dispatch": ack, "complete": ack}
        short = [
            f"{name} ({self.services[name].timeout_s} s < {deadline} s)"
            for name, deadline in pushed.items()
            if self.services[name].timeout_s < deadline
        ]
        if short:
            raise ValueError(f"service timeouts shorter than the ack deadline of their push subscription: {short}")
        if self.push_min_backoff_s > self.push_max_backoff_s:
            raise ValueError("pushMinBackoffS is larger than pushMaxBackoffS")
        _ = self.settings  # builds and validates the services' settings now, not mid-deployment
        return self

    @property
    def database_location(self) -> str:
        return self.firestore_location or self.region

    @property
    def storage_location(self) -> str:
        return self.bucket_location or self.region

    @cached_property
    def settings(self) -> Settings:
        """What every service and Modal worker runs with."""
        return _DeployedSettings.model_validate(
            self.app_settings
            | {
                "project": self.project,
                "inputs_bucket": self.inputs_bucket or f"{self.project}-omtx-inputs",
                "results_bucket": self.results_bucket or f"{self.project}-omtx-results",
                "executor": "modal",
                # cloud: spans to Cloud Trace, https-only public webhook URLs; API keys required
                "deployment": "cloud",
                "auth": "api_key",
            }
        )

    def app_env(self) -> dict[str, str]:
        """The settings as `OMTX_*` environment variables (Cloud Run services, Modal secret)."""
        values = self.settings.model_dump(include=set(_EXPORTED_SETTINGS) | set(self.app_settings))
        return {f"OMTX_{name.upper()}": str(value) for name, value in sorted(values.items())}


_SECRET_FIELDS = ("modal_token_id", "modal_token_secret")
_GCP_FALLBACKS = ("project", "region")


def load_config() -> InfraConfig:
    """Read the stack's configuration; a bad value fails `pulumi preview`, before any change."""
    config = pulumi.Config()
    gcp = pulumi.Config("gcp")
    raw: dict[str, Any] = {name: config.require_secret(to_camel(name)) for name in _SECRET_FIELDS}
    for name, field in InfraConfig.model_fields.items():
        if name in _SECRET_FIELDS:
            continue
        value = config.get(to_camel(name)) or (gcp.get(name) if name in _GCP_FALLBACKS else None)
        if value is not None:
            raw[name] = value if _is_text(field.annotation) else json.loads(value)
    return InfraConfig.model_validate(raw)


def _is_text(annotation: Any) -> bool:
    """Text fields take the config value as it is (an image tag of digits stays a string)."""
    if isinstance(annotation, UnionType):
        return set(get_args(annotation)) <= {str, NoneType}
    return annotation is str
