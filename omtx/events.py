"""Messages on the Pub/Sub topics. Each carries a schema version; attributes repeat the fields
subscribers filter on so they never have to parse the body to route it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from omtx.domain import BatchStatus, utcnow

SCHEMA_VERSION = "1"


class Event(BaseModel):
    model_config = ConfigDict(extra="ignore")

    event_type: ClassVar[str]
    schema_version: str = SCHEMA_VERSION
    batch_id: str

    def attributes(self) -> dict[str, str]:
        return {
            "event_type": self.event_type,
            "schema_version": self.schema_version,
            "batch_id": self.batch_id,
        }

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()


class LigandRange(BaseModel):
    """Ligands [start, end) of a large batch, stored at `uri`, whose jobs are not written yet."""

    start: int = Field(ge=0)
    end: int = Field(gt=0)
    uri: str


class JobsSubmitted(Event):
    """A chunk of one batch's jobs is ready to dispatch (one worker call runs the whole chunk), or,
    for a large batch, a range of ligands whose jobs dispatch writes first and then publishes as
    chunks: the fan-out runs in the background and the first chunks start before the last jobs
    exist."""

    event_type: ClassVar[str] = "jobs.submitted"
    chunk: int
    job_ids: list[str] = Field(default_factory=list)
    range: LigandRange | None = None

    @model_validator(mode="after")
    def _jobs_or_range(self) -> JobsSubmitted:
        if bool(self.job_ids) == (self.range is not None):
            raise ValueError("a submitted message carries either job_ids or a range")
        return self


class JobsDispatched(Event):
    event_type: ClassVar[str] = "jobs.dispatched"
    job_ids: list[str]
    executor: str
    call_id: str


class JobDone(Event):
    """One ligand finished (or failed) on a worker; its outputs are already in the results bucket."""

    event_type: ClassVar[str] = "job.done"
    job_id: str
    status: Literal["succeeded", "failed"]
    shard: int | None = None
    claim_token: str | None = None
    metrics: dict[str, Any] = Field(default_factory=dict)
    result_uri: str | None = None
    files: dict[str, str] = Field(default_factory=dict)
    error: str | None = None
    executor: str | None = None
    call_id: str | None = None
    duration_s: float | None = None
    finished_at: datetime = Field(default_factory=utcnow)
    # "batch/job" whose result this is, when the result cache answered instead of a model run
    cached_from: str | None = None

    def attributes(self) -> dict[str, str]:
        return super().attributes() | {"job_id": self.job_id, "status": self.status}


class JobsDone(Event):
    """Ligands of one batch that finished close together (one message per flush of the worker's
    reporter); complete still records and counts each one on its own, exactly once."""

    event_type: ClassVar[str] = "jobs.done"
    results: list[JobDone] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_batch(self) -> JobsDone:
        # Counter shards are addressed through the envelope's batch: a stray result would count
        # in another batch.
        strays = [r.job_id for r in self.results if r.batch_id != self.batch_id]
        if strays:
            raise ValueError(f"results of other batches in a batch {self.batch_id} report: {strays[:5]}")
        return self

    def attributes(self) -> dict[str, str]:
        return super().attributes() | {"count": str(len(self.results))}


_URI = {"type": "string", "description": "gs:// URI"}
# The manifest's keys: a ligand batch's files, or a design campaign's (kind=designs). Listed, not
# required: a subscriber checks which kind it got by the keys present.
LIGAND_RESULT_FILES = ("aggregated_json", "summary_json", "job_index_json", "csv", "parquet", "report_html")
DESIGN_RESULT_FILES = (
    "designs_json",
    "designs_csv",
    "passing_fasta",
    "summary_json",
    "job_index_json",
    "report_html",
)
MANIFEST_SCHEMA: dict[str, Any] = {
    "description": "Result files by name. Ligand batches: "
    + ", ".join(LIGAND_RESULT_FILES)
    + "; design campaigns (POST /v1/designs): "
    + ", ".join(DESIGN_RESULT_FILES)
    + " (designs_csv: one row per design with scores and filter flags; passing_fasta: the sequences of the "
    "designs that pass the filters); both: batch_metadata_json, batch_index_json",
    "properties": {
        name: _URI
        for name in dict.fromkeys(
            (*LIGAND_RESULT_FILES, *DESIGN_RESULT_FILES, "batch_metadata_json", "batch_index_json")
        )
    },
}


class BatchDone(Event):
    """Published once per batch; `event_id` is stable so subscribers can dedupe redeliveries."""

    event_type: ClassVar[str] = "batch.done"
    event_id: str
    tenant: str
    status: BatchStatus
    model: str
    total: int
    succeeded: int
    failed: int
    # Jobs that never finished because the batch was cancelled: total = succeeded + failed + cancelled
    cancelled: int = 0
    results: dict[str, str] = Field(json_schema_extra=MANIFEST_SCHEMA)
    finished_at: datetime
    revision: int = 0
    # Set when the batch is a stage of a screening campaign (omtx/campaigns/)
    campaign_id: str | None = None
    campaign_stage: int | None = None

    def attributes(self) -> dict[str, str]:
        extra = {"campaign_id": self.campaign_id} if self.campaign_id else {}
        return (
            super().attributes()
            | {
                "event_id": self.event_id,
                "tenant": self.tenant,
                "status": self.status.value,
            }
            | extra
        )

    @staticmethod
    def stable_id(batch_id: str, revision: int = 0) -> str:
        """Once per batch and revision: a batch finalised again after a retry of its failed
        jobs (revision n > 0) finishes anew, with an id subscribers do not take for a duplicate."""
        return f"{batch_id}/batch-done" if revision == 0 else f"{batch_id}/batch-done-r{revision}"


class CampaignStageCount(BaseModel):
    stage: str
    model: str
    batch_id: str | None = None
    ran: int = Field(0, description="Ligands the stage's batch ran")
    succeeded: int = 0
    failed: int = 0
    selected: int | None = Field(None, description="Ligands the stage's selection rule kept from the stage before")


class CampaignDone(Event):
    """Published once per screening campaign when it ends (all stages run, nothing left to
    select, a stage failed, or cancelled). `batch_id` is the last stage's batch; `event_id` is
    stable so subscribers can dedupe redeliveries; `results` names the campaign's result files."""

    event_type: ClassVar[str] = "campaign.done"
    event_id: str
    campaign_id: str
    tenant: str
    status: Literal["completed", "failed", "cancelled"]
    reason: str
    stages: list[CampaignStageCount]
    results: dict[str, str]
    finished_at: datetime

    def attributes(self) -> dict[str, str]:
        return super().attributes() | {
            "event_id": self.event_id,
            "campaign_id": self.campaign_id,
            "tenant": self.tenant,
            "status": self.status,
        }

    @staticmethod
    def stable_id(campaign_id: str) -> str:
        return f"{campaign_id}/campaign-done"


class WebhookDue(Event):
    """A logged webhook delivery (batches/{batch}/webhooks/{delivery_id}) to attempt; redelivered
    by Pub/Sub until the delivery is settled (omtx/webhooks/deliver.py)."""

    event_type: ClassVar[str] = "webhook.due"
    delivery_id: str

    def attributes(self) -> dict[str, str]:
        return super().attributes() | {"delivery_id": self.delivery_id}
