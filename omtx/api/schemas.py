"""What the HTTPS API returns: every response body is one of these models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from omtx.domain import Batch, Job
from omtx.usecases.submit import SubmitOutcome


class ErrorDetail(BaseModel):
    loc: list[str | int] = Field(description="Path of the offending field, e.g. ['ligands', 3, 'smiles']")
    msg: str
    input: Any = None


class ErrorBody(BaseModel):
    error: str = Field(description="Machine-readable error kind, e.g. validation_failed, not_found")
    message: str
    detail: list[ErrorDetail] | None = None


class BatchAccepted(SubmitOutcome):
    """202 for a created batch, 200 for a dry run or an idempotent replay."""

    links: dict[str, str]


class BatchView(Batch):
    succeeded: int  # always known here: live from the shards, or the final count
    failed: int
    done: int
    progress: float = Field(description="Fraction of jobs in a terminal state, 0–1")
    jobs_per_s: float | None = Field(None, description="Observed throughput since the first dispatch")
    eta_s: float | None = Field(None, description="Seconds until the last job finishes at the observed throughput")
    links: dict[str, str]


class BatchPage(BaseModel):
    batches: list[BatchView]
    next_cursor: str | None


class JobView(Job):
    links: dict[str, str]


class ResultsPage(BaseModel):
    batch_id: str
    status: str
    results: dict[str, str] = Field(description="URIs of the aggregated result files (once the batch is final)")
    jobs: list[JobView]
    next_cursor: str | None
