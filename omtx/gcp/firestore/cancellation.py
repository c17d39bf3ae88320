"""Cancelling a batch: its status, then its unfinished jobs → cancelled.

A cancel runs under the batch's finalisation claim (usecases.control), so a batch is either
cancelled or finalised by the aggregator. The batch turns cancelled first, which stops dispatch
and fan-out from starting work (fan-out cancels the jobs it wrote after that itself, see
jobs.create_jobs); each job is then cancelled under the update-time precondition of the version
it was read at, so a claim or a report that lands meanwhile wins and the job is decided again on
the next read. A cancelled job is terminal: completion counts a late report of it as nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import firestore

from omtx import metrics
from omtx.domain import BatchStatus, Job, JobStatus, utcnow
from omtx.gcp.clients import firestore_client
from omtx.gcp.firestore.common import batch_ref, commit, job_ref, unchanged_since, update_if_unchanged

UNFINISHED = [JobStatus.QUEUED.value, JobStatus.DISPATCHED.value]
CANCELLED_REASON = "cancelled: the batch was cancelled before this job finished"


def mark_cancelled(batch_id: str) -> None:
    """A final status at once, so dispatch and fan-out (which skip final batches) stop starting
    work; the counts and result files follow when the cancel finishes."""
    batch_ref(batch_id).update({"status": BatchStatus.CANCELLED.value, "cancelled_at": utcnow()})
    metrics.count("firestore.writes")


def cancel_jobs(jobs: Sequence[tuple[Job, str]], reason: str) -> list[Job]:
    """queued/dispatched → cancelled, each conditional on the version it was read at: a claim or
    a report that lands meanwhile wins, and the caller reads the job again. A cancelled job is
    terminal, so a late report of it counts nothing (see complete_jobs). Returns those cancelled."""
    changes = {"status": JobStatus.CANCELLED.value, "error": reason, "finished_at": utcnow()}
    applied = _apply_if_unchanged([(job_ref(j.batch_id, j.job_id), changes, token) for j, token in jobs])
    return [job for (job, _), ok in zip(jobs, applied, strict=True) if ok]


def _apply_if_unchanged(items: Sequence[tuple[firestore.DocumentReference, dict[str, Any], str]]) -> list[bool]:
    """Conditional updates of cold documents: one commit for all of them; if any precondition
    fails nothing was written, and each is tried on its own. Returns which were applied."""
    if not items:
        return []
    batch = firestore_client().batch()
    for ref, changes, token in items:
        batch.update(ref, changes, option=unchanged_since(token))
    try:
        commit(batch, len(items))
        return [True] * len(items)
    except gexc.FailedPrecondition:
        return [update_if_unchanged(ref, changes, token) is not None for ref, changes, token in items]
