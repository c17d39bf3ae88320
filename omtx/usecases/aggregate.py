"""Aggregate: on a counter change, finalise a finished batch exactly once."""

from __future__ import annotations

import json
import logging
import socket
import tempfile
import uuid
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel

from omtx.aggregation import Spool
from omtx.domain import Batch, BatchStatus, Counts, utcnow
from omtx.events import BatchDone
from omtx.gcp import firestore_store as store
from omtx.gcp import pubsub, storage
from omtx.predictors.registry import get_model
from omtx.progress import crosses_milestone, reached
from omtx.settings import get_settings

log = logging.getLogger(__name__)


class ShardState(BaseModel):
    """A counter shard as the change event shows it."""

    batch_id: str
    shard: int
    expected: int
    succeeded: int = 0
    failed: int = 0

    @property
    def full(self) -> bool:
        return self.succeeded + self.failed >= self.expected


class Outcome(StrEnum):
    SHARD_OPEN = "shard-open"
    UNKNOWN_BATCH = "unknown-batch"
    INCOMPLETE = "incomplete"
    ALREADY_FINAL = "already-final"
    CLAIMED_ELSEWHERE = "claimed-elsewhere"
    FINALIZED = "finalized"


_OWNER = f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"


def on_counter_change(shard: ShardState, before: ShardState | None) -> Outcome:
    # Every completion fires an event. Only the one that fills a shard can finish the batch, and
    # only one that passes a shard's milestone mark can pass a batch milestone: the others
    # return here without a single read.
    if shard.full:
        return finalize_if_complete(shard.batch_id)
    old_done = before.succeeded + before.failed if before else 0
    if crosses_milestone(old_done, shard.succeeded + shard.failed, shard.expected):
        batch = store.get_batch(shard.batch_id)
        if batch is not None:
            record_milestones(batch, store.get_counts(batch.batch_id, batch.total))
    return Outcome.SHARD_OPEN


def record_milestones(batch: Batch, counts: Counts) -> None:
    for percent in reached(counts.done, counts.total):
        if f"p{percent}" not in batch.milestones:
            store.record_milestone(batch.batch_id, percent, counts)


def finalize_if_complete(batch_id: str) -> Outcome:
    settings = get_settings()
    batch = store.get_batch(batch_id)
    if batch is None:
        return Outcome.UNKNOWN_BATCH
    counts = store.get_counts(batch_id, batch.total)
    record_milestones(batch, counts)
    if not counts.complete:
        return Outcome.INCOMPLETE
    if batch.status.is_final and store.finalization_done(batch_id):
        return Outcome.ALREADY_FINAL
    if not store.claim_finalization(batch_id, _OWNER, settings.finalize_lease_s):
        return Outcome.CLAIMED_ELSEWHERE
    try:
        status = final_status(counts)
        results = write_results(batch, counts, status)
        store.finalize_batch(batch_id, status, counts, results)
        event = BatchDone(
            batch_id=batch_id,
            event_id=BatchDone.stable_id(batch_id),
            tenant=batch.tenant,
            status=status,
            model=batch.model,
            total=counts.total,
            succeeded=counts.succeeded,
            failed=counts.failed,
            results=results,
            finished_at=utcnow(),
        )
        pubsub.publish(settings.topic_batch_done, [event])
        store.finish_finalization(batch_id)
    except Exception:
        # Let the next trigger (or the reconciler) take over instead of waiting out the lease.
        store.release_finalization(batch_id)
        raise
    log.info("batch %s finalised: %s", batch_id, status.value, extra={"batch_id": batch_id})
    return Outcome.FINALIZED


def final_status(counts: Counts) -> BatchStatus:
    if counts.failed == 0:
        return BatchStatus.COMPLETED
    if counts.succeeded == 0:
        return BatchStatus.FAILED
    return BatchStatus.COMPLETED_WITH_FAILURES


def write_results(batch: Batch, counts: Counts, status: BatchStatus) -> dict[str, str]:
    settings = get_settings()
    bucket = settings.results_bucket
    prefix = f"batches/{batch.batch_id}/results"
    spec = get_model(batch.model)
    with tempfile.TemporaryDirectory(prefix="omtx-agg-") as tmp:
        work = Path(tmp)
        spool = Spool(work / "rows.jsonl").fill(store.iter_jobs(batch.batch_id))
        header = {
            "batch_id": batch.batch_id,
            "name": batch.name,
            "model": batch.model,
            "model_version": batch.model_version,
            "params": batch.params,
            "protein": batch.protein.model_dump(),
            "status": status.value,
            "total": counts.total,
            "succeeded": counts.succeeded,
            "failed": counts.failed,
        }
        with (work / "aggregated.json").open("w") as out:
            spool.write_json(header, out)
        with (work / "batch_results.csv").open("w", newline="") as out:
            spool.write_csv(out)
        summary = header | {
            "primary_metric": spec.primary_metric,
            "higher_is_better": spec.higher_is_better,
            "status_counts": spool.status_counts,
            "metrics": spool.metric_stats(),
        }
        (work / "summary.json").write_text(json.dumps(summary, default=str))
        return {
            "aggregated_json": storage.put_file(
                bucket, f"{prefix}/aggregated.json", work / "aggregated.json", "application/json"
            ),
            "csv": storage.put_file(bucket, f"{prefix}/batch_results.csv", work / "batch_results.csv", "text/csv"),
            "summary_json": storage.put_file(
                bucket, f"{prefix}/summary.json", work / "summary.json", "application/json"
            ),
        }
