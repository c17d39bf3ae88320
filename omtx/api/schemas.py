"""What the HTTPS API returns: every response body is one of these models."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from omtx.domain import Batch, Job
from omtx.predictors.base import ModelSpec
from omtx.settings import get_settings
from omtx.usecases.control import CancelOutcome, RetryOutcome
from omtx.usecases.submit import SubmitOutcome
from omtx.webhook_models import WebhookAttempt


class ErrorDetail(BaseModel):
    loc: list[str | int] = Field(description="Path of the offending field, e.g. ['ligands', 3, 'smiles']")
    msg: str
    input: Any = None
    line: int | None = Field(None, description="An uploaded or dropped library's row: its file line")
    record: int | None = Field(None, description="An SD file's row: its record number")


class ErrorBody(BaseModel):
    error: str = Field(description="Machine-readable error kind, e.g. validation_failed, not_found")
    message: str
    detail: list[ErrorDetail] | None = None


class BatchAccepted(SubmitOutcome):
    """202 for a created batch, 200 for a dry run or an idempotent replay."""

    links: dict[str, str]
    webhook_secret: str | None = Field(
        None, description="HMAC key of this batch's webhook signatures (whsec_…), when a webhook_url was given"
    )


class WebhookDeliveryView(BaseModel):
    delivery_id: str
    event_id: str
    event_type: str
    url: str
    state: str
    attempts: list[WebhookAttempt]
    created_at: datetime
    next_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
    error: str | None = None


class BatchView(Batch):
    succeeded: int  # always known here: live from the shards, or the final count
    failed: int
    done: int
    progress: float = Field(description="Fraction of jobs in a terminal state, 0–1")
    jobs_per_s: float | None = Field(None, description="Observed throughput since the first dispatch")
    eta_s: float | None = Field(None, description="Seconds until the last job finishes at the observed throughput")
    links: dict[str, str]
    trace_id: str | None = Field(None, description="The batch's trace (Cloud Logging / Cloud Trace)")
    webhooks: list[WebhookDeliveryView] = Field(default_factory=list, description="Webhook delivery log")


class BatchPage(BaseModel):
    batches: list[BatchView]
    next_cursor: str | None


class JobView(Job):
    executor: str | None = Field(
        None, description="Who answered the last attempt: the executor (local, modal), or cache for a reused result"
    )
    attempts: int = Field(0, description="Attempts over every run of the job (retries of its batch included)")
    run_attempts: int = Field(0, description="Attempts of the current run; a retry of the batch starts a new run")
    earlier_attempts: int = Field(0, description="Attempts of the runs before the last retry")
    links: dict[str, str]


class ResultRow(BaseModel):
    """One job of a results view. `fields=` projects the row fields and metrics; job_id, index,
    metrics and links are always there."""

    job_id: str
    index: int
    ligand_name: str | None = None
    smiles: str | None = None
    canonical_smiles: str | None = None
    inchikey: str | None = None
    status: str | None = None
    error: str | None = None
    executor: str | None = Field(None, description="local or modal, or cache for a reused result")
    attempts: int | None = Field(None, description="Attempts over every run of the job")
    retries: int | None = Field(None, description="Times a retry of the batch ran the job again")
    cached_from: str | None = None
    duration_s: float | None = None
    metrics: dict[str, Any] = Field(description="The job's non-null metrics (those projected)")
    links: dict[str, str] = Field(description="self, and each of the job's files")


class ResultsPage(BaseModel):
    batch_id: str
    status: str
    results: dict[str, str] = Field(description="URIs of the aggregated result files (once the batch is final)")
    jobs: list[ResultRow]
    next_cursor: str | None = Field(
        description="Cursor of the next page (a keyset: sort value, job index); null at the end"
    )


class NumberFacet(BaseModel):
    kind: Literal["number"]
    count: int = Field(description="Matching rows with a value")
    min: float | None
    max: float | None
    histogram: dict[str, list[float]] | None = Field(
        description="edges (21, fixed for the batch: its whole range) and counts (20) of the matching rows"
    )


class BooleanFacet(BaseModel):
    kind: Literal["boolean"]
    count: int
    true: int
    false: int


class Facets(BaseModel):
    batch_id: str
    status: str
    matched: int = Field(description="Rows the filter keeps")
    total: int = Field(description="Rows of the batch")
    status_counts: dict[str, int] = Field(description="Per job status, under every filter but status=")
    metrics: dict[str, NumberFacet | BooleanFacet]


class MetricView(BaseModel):
    name: str
    unit: str = Field(description="'' for counts, flags and dimensionless scores")
    description: str


class ModelView(BaseModel):
    name: str
    version: str
    description: str
    hardware: str
    primary_metric: str = Field(description="What results are ranked by unless asked otherwise")
    higher_is_better: bool = Field(description="The primary metric's direction")
    needs_structure: bool = Field(description="protein.structure is required (docking)")
    designs: bool = Field(description="designs binders: submitted with POST /v1/designs, never as a ligand batch")
    metrics: list[MetricView] = Field(description="Columns it writes, primary first, with units")
    params_schema: dict[str, Any] = Field(description="JSON Schema of `params` (the console builds its form from it)")
    chunk_size: int
    limits: dict[str, Any] = Field(description="Protein length, heavy atoms and elements it accepts; max_ligands")
    cost: dict[str, Any] = Field(description="The figures behind dry-run estimates")

    @classmethod
    def of(cls, spec: ModelSpec) -> ModelView:
        limits = spec.limits
        plain = {name: getattr(spec, name) for name in ("name", "version", "description", "hardware")}
        return cls(
            **plain,
            primary_metric=spec.primary_metric,
            higher_is_better=spec.higher_is_better,
            needs_structure=spec.needs_structure,
            designs=spec.designs,
            metrics=[MetricView(name=m.name, unit=m.unit, description=m.description) for m in spec.metrics],
            params_schema=spec.params.model_json_schema(),
            chunk_size=spec.chunk_size,
            limits={
                "protein_min_length": limits.protein_min_length,
                "protein_max_length": limits.protein_max_length,
                "max_heavy_atoms": limits.max_heavy_atoms,
                "warn_heavy_atoms": limits.warn_heavy_atoms,
                "allowed_elements": sorted(limits.allowed_elements) if limits.allowed_elements else None,
                "max_ligands": get_settings().max_ligands,
            },
            cost={
                "seconds_per_ligand": spec.cost.seconds_per_ligand,
                "startup_s": spec.cost.startup_s,
                "usd_per_second": spec.cost.usd_per_second,
            },
        )


class ModelList(BaseModel):
    models: list[ModelView]


class CancelView(CancelOutcome):
    """200: the batch is cancelled and finalised (its partial results are in the exports)."""

    links: dict[str, str]


class RetryView(RetryOutcome):
    """202: the failed jobs are queued again; the batch finalises again under `revision`."""

    links: dict[str, str]
