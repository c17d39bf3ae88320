"""Aggregate: on a counter change, record the batch's milestones and finalise a finished batch
exactly once; each milestone and the completion is handed to the batch's webhook, if it has one."""

from __future__ import annotations

import json
import logging
import socket
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel

from omtx import logs, spreadsheet, tracing
from omtx.aggregation import Spool
from omtx.domain import Batch, BatchStatus, Counts, utcnow
from omtx.events import BatchDone
from omtx.gcp import pubsub, storage
from omtx.gcp.firestore import batches as batch_store
from omtx.gcp.firestore import finalization
from omtx.gcp.firestore import jobs as job_store
from omtx.gcp.storage import gcs_uri
from omtx.predictors.registry import get_model
from omtx.progress import crosses_milestone, reached
from omtx.settings import get_settings
from omtx.usecases.design_results import write_design_results
from omtx.usecases.report import hit_fields, pose_summary, report_html
from omtx.webhooks import deliver as webhooks

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
        batch = batch_store.get_batch(shard.batch_id)
        if batch is None:
            log.warning("aggregate: counter change of unknown batch %s", shard.batch_id)
            return Outcome.UNKNOWN_BATCH
        with _in_batch_trace(batch, "aggregate.finalize"):
            outcome = _finalize(batch)
            log.info("aggregate %s: %s", batch.batch_id, outcome.value)
        return outcome
    old_done = before.succeeded + before.failed if before else 0
    if crosses_milestone(old_done, shard.succeeded + shard.failed, shard.expected):
        batch = batch_store.get_batch(shard.batch_id)
        if batch is not None:
            with _in_batch_trace(batch, "aggregate.milestones"):
                record_milestones(batch, batch_store.get_counts(batch.batch_id, batch.total))
    return Outcome.SHARD_OPEN


@contextmanager
def _in_batch_trace(batch: Batch, name: str) -> Iterator[None]:
    """A counter change carries no message attributes: the batch's own trace is continued (the
    reconciler runs this for many batches in its own request, hence the scope)."""
    with tracing.continued(batch.traceparent), logs.bind(batch_id=batch.batch_id), tracing.span(name):
        yield


def record_milestones(batch: Batch, counts: Counts) -> None:
    for percent in reached(counts.done, counts.total):
        if f"p{percent}" in batch.milestones:
            continue
        # The webhook is queued before the marker: once the marker exists no later pass comes back
        # to this milestone, while queueing twice is harmless (one delivery per event id).
        webhooks.enqueue(batch, webhooks.milestone_event(batch, percent, counts))
        batch_store.record_milestone(batch.batch_id, percent, counts)


def finalize_if_complete(batch_id: str) -> Outcome:
    """The reconciler's way in (the counter event of a batch may have been lost)."""
    batch = batch_store.get_batch(batch_id)
    if batch is None:
        return Outcome.UNKNOWN_BATCH
    with _in_batch_trace(batch, "aggregate.finalize"):
        return _finalize(batch)


def _finalize(batch: Batch) -> Outcome:
    settings = get_settings()
    batch_id = batch.batch_id
    counts = batch_store.get_counts(batch_id, batch.total)
    record_milestones(batch, counts)
    if not counts.complete:
        return Outcome.INCOMPLETE
    if batch.status.is_final and finalization.finalization_done(batch_id):
        return Outcome.ALREADY_FINAL
    token = finalization.claim_finalization(batch_id, _OWNER, settings.finalize_lease_s)
    if token is None:
        return Outcome.CLAIMED_ELSEWHERE
    try:
        status = final_status(counts)
        results = write_results(batch, counts, status)
        finalization.finalize_batch(batch_id, status, counts, results)
        announce_done(batch, status, counts, results)
        finalization.finish_finalization(batch_id, token)
    except Exception:
        # Let the next trigger (or the reconciler) take over instead of waiting out the lease.
        finalization.release_finalization(batch_id, token)
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
    """Every result file of the batch; returns their URIs by name (the batch-done manifest)."""
    if batch.kind == "designs":
        return write_design_results(batch, counts, status)
    settings = get_settings()
    bucket = settings.results_bucket
    base = f"batches/{batch.batch_id}"
    spec = get_model(batch.model)
    with tempfile.TemporaryDirectory(prefix="omtx-agg-") as tmp:
        work = Path(tmp)
        spool = Spool(work / "rows.jsonl", spec.primary_metric, spec.higher_is_better, keep=hit_fields(spec))
        repro = {
            "model": batch.model,
            "model_version": batch.model_version,
            "params": json.dumps(batch.params, sort_keys=True),
            "seed": batch.params.get("seed"),
        }
        spool.fill(job_store.iter_jobs(batch.batch_id), repro)
        header = {
            "schema_version": "1",
            "batch_id": batch.batch_id,
            "revision": batch.revision,
            "name": batch.name,
            "tenant": batch.tenant,
            "model": batch.model,
            "model_version": batch.model_version,
            "params": batch.params,
            "protein": batch.protein.model_dump(),
            "status": status.value,
            "total": counts.total,
            "succeeded": counts.succeeded,
            "failed": counts.failed,
            "primary_metric": spec.primary_metric,
            "higher_is_better": spec.higher_is_better,
        }
        files = {
            "aggregated_json": ("results/aggregated.json", "application/json"),
            "summary_json": ("results/summary.json", "application/json"),
            "job_index_json": ("results/job_index.json", "application/json"),
            "csv": ("results/batch_results.csv", spreadsheet.MEDIA_TYPE),
            "parquet": ("results/batch_results.parquet", "application/vnd.apache.parquet"),
            "report_html": ("results/report.html", "text/html; charset=utf-8"),
            "batch_metadata_json": ("batch_metadata.json", "application/json"),
            "batch_index_json": ("batch_index.json", "application/json"),
        }
        local = {name: work / Path(path).name for name, (path, _) in files.items()}
        with (
            local["aggregated_json"].open("w") as aggregated,
            local["csv"].open("w", newline="", encoding=spreadsheet.ENCODING) as table,
            local["job_index_json"].open("w") as index,
        ):
            spool.export(header, aggregated, table, index, local["parquet"])
        flags = spool.flag_counts()
        pose_checks = pose_summary(flags)
        summary = header | {
            "status_counts": spool.status_counts,
            "metrics": spool.metric_stats(),
            "flags": flags,
            "best": spool.best(),
            "worst": spool.worst(),
        }
        if pose_checks is not None:
            summary["pose_checks"] = pose_checks
        local["summary_json"].write_text(json.dumps(summary, default=str))
        local["report_html"].write_text(report_html(header, spool, spec, pose_checks), encoding="utf-8")
        uris = {name: gcs_uri(bucket, f"{base}/{path}") for name, (path, _) in files.items()}
        metadata = header | {
            "input_uri": batch.input_uri,
            "labels": batch.labels,
            "created_at": batch.created_at,
            "started_at": batch.started_at,
            "finished_at": utcnow(),
            "milestones": {k: m.model_dump() for k, m in batch.milestones.items()},
            "results": uris,
        }
        local["batch_metadata_json"].write_text(json.dumps(metadata, default=str))
        batch_index = {"batch_id": batch.batch_id, "jobs_prefix": gcs_uri(bucket, f"{base}/jobs/"), "files": uris}
        local["batch_index_json"].write_text(json.dumps(batch_index))
        for name, (path, content_type) in files.items():
            storage.put_file(bucket, f"{base}/{path}", local[name], content_type)
        return uris


def announce_done(
    batch: Batch, status: BatchStatus, counts: Counts, results: dict[str, str], cancelled: int = 0
) -> BatchDone:
    """`batch-done` for downstream systems and the completion webhook; whoever finalises (the
    aggregator, or a cancel, with the jobs it cancelled) calls this once, under the claim."""
    event = BatchDone(
        batch_id=batch.batch_id,
        event_id=BatchDone.stable_id(batch.batch_id, batch.revision),
        revision=batch.revision,
        tenant=batch.tenant,
        status=status,
        model=batch.model,
        total=counts.total,
        succeeded=counts.succeeded,
        failed=counts.failed,
        cancelled=cancelled,
        results=results,
        finished_at=utcnow(),
        campaign_id=batch.campaign.campaign_id if batch.campaign else None,
        campaign_stage=batch.campaign.stage if batch.campaign else None,
    )
    pubsub.publish(get_settings().topic_batch_done, [event])
    # Queued, not sent: a slow or dead receiver never holds up finalisation.
    webhooks.enqueue(batch, webhooks.completion_event(batch, event))
    return event
