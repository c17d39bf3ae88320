"""The batch document and its counter shards: batches/{batch}, batches/{batch}/shards/{nnnn} and
batches/{batch}/milestones/{pNNN}.

Both are hot (every dispatch and aggregate run reads the batch, every job's result lands on a
shard), so no read-modify-write transaction ever touches them. Submit creates the document and
its shards, each shard knowing how many jobs it covers; after that the shards change by
Increment only (completion, retries). The document is written once per step, each step guarded
so that it happens once: queued → running under an update-time precondition (`mark_running`),
each milestone after its create-only marker (`record_milestone`), and the final status by
whoever holds the finalisation claim (finalization, cancellation) or reopens it (retries).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import firestore

from omtx import metrics
from omtx.domain import Batch, BatchStatus, Counts, Job, utcnow
from omtx.gcp.clients import firestore_client
from omtx.gcp.firestore.common import (
    Write,
    as_document,
    batch_ref,
    commit_in_chunks,
    count_of,
    fields_of,
    get_fields,
    job_ref,
    shard_ref,
    tenant_page,
    token_of,
    update_if_unchanged,
)
from omtx.ids import shard_size


def create_batch(batch: Batch, jobs: Sequence[Job]) -> None:
    """Batch document, its counter shards (each knowing how many jobs it covers) and the jobs."""

    def ops() -> Iterator[Write]:
        yield "create", batch_ref(batch.batch_id), as_document(batch)
        for shard in range(batch.shard_count):
            expected = shard_size(shard, batch.total, batch.shard_count)
            yield (
                "create",
                shard_ref(batch.batch_id, shard),
                {
                    "batch_id": batch.batch_id,
                    "shard": shard,
                    "expected": expected,
                    "succeeded": 0,
                    "failed": 0,
                },
            )
        for job in jobs:
            yield "create", job_ref(batch.batch_id, job.job_id), as_document(job)

    commit_in_chunks(ops())


def add_jobs(batch_id: str, jobs: Sequence[Job]) -> None:
    """More jobs of a batch that create_batch made, written by the same submit request."""
    commit_in_chunks(("create", job_ref(batch_id, job.job_id), as_document(job)) for job in jobs)


def get_batch(batch_id: str) -> Batch | None:
    fields = get_fields([batch_ref(batch_id)])[0]
    return Batch.model_validate(fields) if fields is not None else None


def get_batch_with_token(batch_id: str) -> tuple[Batch, str] | None:
    """The batch and its update time, for a write that must not cross another."""
    snap = batch_ref(batch_id).get()
    return (Batch.model_validate(fields_of(snap)), token_of(snap.update_time)) if snap.exists else None


def get_counts(batch_id: str, total: int) -> Counts:
    """Sum of the shards in one aggregation query (billed as one read per 1,000 shards)."""
    shards = batch_ref(batch_id).collection("shards")
    rows: Any = shards.sum("succeeded", alias="succeeded").sum("failed", alias="failed").get()
    values = {r.alias: int(r.value or 0) for row in rows for r in row}
    return Counts(total=total, succeeded=values.get("succeeded", 0), failed=values.get("failed", 0))


def list_batches(
    tenant: str, *, limit: int, status: str | None = None, cursor: str | None = None
) -> tuple[list[Batch], str | None]:
    """Newest first; the cursor is the id of the last batch of the previous page."""
    rows, more = tenant_page("batches", tenant, limit=limit, status=status, cursor=cursor, what="batch")
    batches = [Batch.model_validate(fields) for fields in rows]
    return batches, (batches[-1].batch_id if more else None)


def _active_query() -> Any:
    return (
        firestore_client()
        .collection("batches")
        .where(filter=firestore.FieldFilter("status", "in", [BatchStatus.QUEUED.value, BatchStatus.RUNNING.value]))
    )


def active_batches(limit: int) -> list[Batch]:
    return [Batch.model_validate(fields_of(snap)) for snap in _active_query().limit(limit).stream()]


def count_active_batches() -> int:
    return count_of(_active_query())


def mark_running(batch_id: str) -> None:
    """queued → running, once; a precondition instead of a transaction on the hot document. A
    failed precondition can be another write (a milestone), so it re-reads while still queued."""
    for _ in range(5):
        snap = batch_ref(batch_id).get()
        if not snap.exists or snap.get("status") != BatchStatus.QUEUED.value:
            return
        changes = {"status": BatchStatus.RUNNING.value, "started_at": utcnow()}
        if update_if_unchanged(snap.reference, changes, snap.update_time) is not None:
            return


def record_milestone(batch_id: str, percent: int, counts: Counts) -> bool:
    """Each milestone once: a create-only marker decides, then the batch document (one write per
    milestone, six per batch) shows it. Returns False when it was already recorded."""
    now = utcnow()
    try:
        batch_ref(batch_id).collection("milestones").document(f"p{percent:03d}").create(
            {"percent": percent, "at": now, "done": counts.done}
        )
    except gexc.AlreadyExists:
        return False
    batch_ref(batch_id).update({f"milestones.p{percent}": {"at": now, "done": counts.done}})
    metrics.count("firestore.writes", 2)
    return True
