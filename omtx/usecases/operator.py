"""The operator's view of the deployment: what is running, what waits, what was dead-lettered."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from omtx.domain import BatchStatus, utcnow
from omtx.gcp import capacity, dlq_counts
from omtx.gcp.dlq_counts import DeadLetterCounts
from omtx.gcp.firestore import batches as batch_store
from omtx.gcp.firestore import jobs as job_store
from omtx.predictors.registry import MODELS
from omtx.settings import get_settings

ACTIVE_LIMIT = 100  # batches listed; all of them are counted


class ActiveBatch(BaseModel):
    batch_id: str
    tenant: str
    model: str
    status: BatchStatus
    total: int
    created_at: datetime
    started_at: datetime | None


class WaitingJob(BaseModel):
    batch_id: str
    job_id: str
    queued_at: datetime
    age_s: float = Field(description="Seconds since the job last became queued")


class OperatorStatus(BaseModel):
    at: datetime
    active_batches: int = Field(description="Queued or running batches")
    batches: list[ActiveBatch] = Field(description=f"Up to {ACTIVE_LIMIT} of them, oldest first")
    jobs_in_flight: dict[str, int] = Field(description="Dispatched, unfinished jobs per model")
    oldest_queued_job: WaitingJob | None
    dead_letters: DeadLetterCounts


def status() -> OperatorStatus:
    now = utcnow()
    listed = sorted(batch_store.active_batches(ACTIVE_LIMIT), key=lambda b: b.created_at)
    oldest = job_store.oldest_queued_job()
    return OperatorStatus(
        at=now,
        active_batches=batch_store.count_active_batches(),
        batches=[ActiveBatch.model_validate(b, from_attributes=True) for b in listed],
        jobs_in_flight={name: capacity.jobs_in_flight(name) for name in sorted(MODELS)},
        oldest_queued_job=None
        if oldest is None
        else WaitingJob(
            batch_id=oldest.batch_id,
            job_id=oldest.job_id,
            queued_at=oldest.queued_at,
            age_s=round((now - oldest.queued_at).total_seconds(), 1),
        ),
        dead_letters=dlq_counts.dead_letter_counts(get_settings().project),
    )
