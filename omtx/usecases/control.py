"""Batch control: cancel a batch, retry its failed jobs, delete it with all its data.

Cancel takes the batch's finalisation claim, the one the aggregator takes, so a batch is either
cancelled or finalised by the aggregator, never both, and `batch-done` is published once. It
marks the batch cancelled first (dispatch and fan-out skip final batches), then moves every
unfinished job to `cancelled` (each conditional on the version it read, so a result that lands
meanwhile wins), asks the executor to stop the calls in flight, and finalises the batch with its
partial results. A cancelled job is terminal: a late report of it counts nothing.

Retry reopens a finished batch under a new revision and requeues its failed jobs; the
aggregator finalises it again when they are done and publishes `batch-done` again, for that
revision. Delete refuses an unfinished batch (cancel it first) and removes the batch's
documents and objects, the batch document last, so an interrupted delete can be repeated."""

from __future__ import annotations

import socket
import uuid

from pydantic import BaseModel

from omtx.domain import Batch, BatchStatus, JobStatus
from omtx.errors import Conflict, NotFound, TransientError
from omtx.events import JobsSubmitted
from omtx.executors import get_executor
from omtx.gcp import erasure, pubsub
from omtx.gcp.firestore import batches as batch_store
from omtx.gcp.firestore import cancellation, claims, finalization, retention, retries, tenants
from omtx.gcp.firestore import jobs as job_store
from omtx.predictors.registry import get_model
from omtx.settings import get_settings
from omtx.usecases.aggregate import announce_done, final_status, write_results
from omtx.usecases.fanout import chunk_bounds
from omtx.usecases.submit import estimate

SWEEP_PAGE = 500
RETRYABLE = frozenset({BatchStatus.COMPLETED_WITH_FAILURES, BatchStatus.FAILED})
_OWNER = f"cancel-{socket.gethostname()}-{uuid.uuid4().hex[:8]}"


class CancelOutcome(BaseModel):
    batch_id: str
    status: BatchStatus
    cancelled_jobs: int  # jobs this request moved to cancelled
    calls_stopped: int  # executor calls stopped
    calls_not_stopped: int  # calls the executor could not stop: they run on, their reports are discarded
    repeated: bool = False  # the batch had been cancelled already; nothing changed


class RetryOutcome(BaseModel):
    batch_id: str
    status: BatchStatus
    revision: int
    requeued: int
    gpu_seconds: float


class DeleteOutcome(BaseModel):
    batch_id: str
    documents: int
    objects: int
    repeated: bool = False


def owned_batch(batch_id: str, tenant: str) -> Batch:
    """The tenant's batch; another tenant's is not found, never forbidden."""
    batch = batch_store.get_batch(batch_id)
    if batch is None or batch.tenant != tenant:
        raise NotFound(f"batch {batch_id} not found")
    return batch


# --- cancel -------------------------------------------------------------------------------------


def cancel_batch(batch_id: str, tenant: str) -> CancelOutcome:
    batch = owned_batch(batch_id, tenant)
    if batch.status.is_final and finalization.finalization_done(batch_id):
        if batch.status != BatchStatus.CANCELLED:
            raise Conflict(f"batch {batch_id} already finished ({batch.status.value}); there is nothing to cancel")
        return CancelOutcome(
            batch_id=batch_id,
            status=batch.status,
            cancelled_jobs=0,
            calls_stopped=0,
            calls_not_stopped=0,
            repeated=True,
        )
    token = finalization.claim_finalization(batch_id, _OWNER, get_settings().finalize_lease_s)
    if token is None:
        raise Conflict(f"batch {batch_id} is being finalised or cancelled right now; ask again shortly", 5)
    try:
        return _cancel_claimed(batch, token)
    except Exception:
        # An interrupted cancel leaves the batch cancelled but not finalised: cancelling again
        # takes the released claim over and finishes it.
        finalization.release_finalization(batch_id, token)
        raise


def _cancel_claimed(batch: Batch, token: str) -> CancelOutcome:
    cancellation.mark_cancelled(batch.batch_id)
    cancelled, calls = _cancel_jobs(batch)
    stopped = _stop_calls(batch.batch_id, calls)
    # Every job is terminal now and each counted in the same commit that made it so: exact.
    counts = batch_store.get_counts(batch.batch_id, batch.total)
    unfinished = counts.total - counts.done  # includes jobs a large batch had not written yet
    # If everything finished before the cancel swept (a race with the last result), the batch
    # ends as what it is rather than as cancelled.
    status = BatchStatus.CANCELLED if unfinished else final_status(counts)
    results = write_results(batch, counts, status)
    finalization.finalize_batch(batch.batch_id, status, counts, results, cancelled=unfinished)
    announce_done(batch, status, counts, results, cancelled=unfinished)
    finalization.finish_finalization(batch.batch_id, token)
    return CancelOutcome(
        batch_id=batch.batch_id,
        status=status,
        cancelled_jobs=cancelled,
        calls_stopped=stopped,
        calls_not_stopped=len(calls) - stopped,
    )


def _cancel_jobs(batch: Batch) -> tuple[int, dict[str, str | None]]:
    """Moves every queued or dispatched job to cancelled; returns how many, and the calls that
    were running them (call id → executor). A job that changed between read and write (claimed,
    reported) stays in the query and is decided again on the next pass."""
    cancelled = 0
    calls: dict[str, str | None] = {}
    for _ in range(batch.total // SWEEP_PAGE + 20):
        page = job_store.jobs_in_status(batch.batch_id, cancellation.UNFINISHED, limit=SWEEP_PAGE)
        if not page:
            return cancelled, calls
        for job in cancellation.cancel_jobs(page, cancellation.CANCELLED_REASON):
            cancelled += 1
            if job.status == JobStatus.DISPATCHED and job.call_id:
                calls[job.call_id] = job.executor
    raise TransientError(f"the jobs of batch {batch.batch_id} kept changing while being cancelled; cancel again")


def _stop_calls(batch_id: str, calls: dict[str, str | None]) -> int:
    """Asks the configured executor to stop the calls it started; returns how many it stopped."""
    executor = get_executor()
    ours = [call_id for call_id, name in calls.items() if name == executor.name]
    executor_ids = claims.executor_call_ids(batch_id, ours)
    return sum(executor.cancel(executor_ids.get(call_id, call_id)) for call_id in ours)


# --- retry --------------------------------------------------------------------------------------


def retry_failed(batch_id: str, tenant: str, *, budgeted: bool = False) -> RetryOutcome:
    """Requeues the failed jobs of a finished batch. The succeeded jobs keep their results; the
    failed ones run again with all their attempts (`attempts` restarts, `retries` counts)."""
    found = batch_store.get_batch_with_token(batch_id)
    if found is None or found[0].tenant != tenant:
        raise NotFound(f"batch {batch_id} not found")
    batch, token = found
    if batch.status not in RETRYABLE:
        raise Conflict(_not_retryable(batch))
    failed = job_store.jobs_in_status(batch_id, [JobStatus.FAILED.value])
    if not failed:
        raise Conflict(f"batch {batch_id} has no failed jobs to retry")
    gpu_s = estimate(get_model(batch.model), len(failed)).gpu_seconds if budgeted else 0.0
    if gpu_s:
        tenants.charge(tenant, gpu_s)  # BudgetExceeded: nothing changed
    first = retries.requeue_chunk_size(failed, reserved=2)
    if not retries.reopen_batch(batch, token, failed[:first]):
        if gpu_s:
            tenants.refund(tenant, gpu_s)
        raise Conflict(f"batch {batch_id} changed while being reopened (another retry?); look at it again", 2)
    requeued, rest = first, failed[first:]
    while rest:
        size = retries.requeue_chunk_size(rest, reserved=0)
        requeued += retries.requeue_jobs(rest[:size])
        rest = rest[size:]
    # Published only once every job is requeued: the aggregator cannot finalise the reopened
    # batch while any requeued job is unfinished, and none starts before this.
    job_ids = job_store.queued_job_ids(batch_id)
    chunks = chunk_bounds(len(job_ids), get_model(batch.model).chunk_size) if job_ids else []
    pubsub.publish(
        get_settings().topic_submitted,
        [
            JobsSubmitted(batch_id=batch_id, chunk=n, job_ids=job_ids[start:end])
            for n, (start, end) in enumerate(chunks)
        ],
    )
    return RetryOutcome(
        batch_id=batch_id,
        status=BatchStatus.RUNNING,
        revision=batch.revision + 1,
        requeued=requeued,
        gpu_seconds=gpu_s,
    )


def _not_retryable(batch: Batch) -> str:
    if batch.status == BatchStatus.COMPLETED:
        return f"batch {batch.batch_id} completed without failures; there is nothing to retry"
    if batch.status == BatchStatus.CANCELLED:
        return f"batch {batch.batch_id} was cancelled; submit its ligands again as a new batch"
    return f"batch {batch.batch_id} is {batch.status.value}; retry its failed jobs once it has finished"


# --- delete -------------------------------------------------------------------------------------


def delete_batch(batch_id: str, tenant: str) -> DeleteOutcome:
    batch = batch_store.get_batch(batch_id)
    if batch is None:
        # Deleting again answers like the first time, to the tenant that deleted it only.
        if retention.deleted_by(batch_id) == tenant:
            return DeleteOutcome(batch_id=batch_id, documents=0, objects=0, repeated=True)
        raise NotFound(f"batch {batch_id} not found")
    if batch.tenant != tenant:
        raise NotFound(f"batch {batch_id} not found")
    if not batch.status.is_final or not finalization.finalization_done(batch_id):
        raise Conflict(
            f"batch {batch_id} is {batch.status.value} and not finished: cancel it first "
            f"(POST /v1/batches/{batch_id}/cancel), then delete it"
        )
    settings = get_settings()
    prefix = f"batches/{batch_id}/"
    # Objects first, the documents after (the batch document last): if this is interrupted, the
    # batch still exists and deleting it again finishes the job.
    objects = erasure.delete_prefix(settings.inputs_bucket, prefix)
    objects += erasure.delete_prefix(settings.results_bucket, prefix)
    documents = retention.delete_batch_documents(batch)
    return DeleteOutcome(batch_id=batch_id, documents=documents, objects=objects)
