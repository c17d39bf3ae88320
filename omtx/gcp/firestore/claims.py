"""Dispatch claims on jobs, their deadlines, and the calls that run them: the queued ⇄ dispatched
edge of a job, and the creation of batches/{batch}/calls/{call} with its first lease (leases.py).

Only a claim moves a job from queued to dispatched, and each claim is an update conditional on
the snapshot it was decided on, so of two dispatchers (or a redelivered `submitted`) one wins.
The update time the claim left becomes the job's claim token: the worker echoes it, completion
writes the outcome under it, and moving a dispatched job back to queued (a call that did not
start, a lease that lapsed, a deadline that passed) is conditional on it too, so a report that
lands meanwhile wins.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import firestore

from omtx import metrics
from omtx.domain import Job, JobStatus, utcnow
from omtx.gcp.clients import firestore_client
from omtx.gcp.firestore.common import (
    call_ref,
    commit,
    fields_of,
    job_ref,
    stream_fields,
    token_of,
    unchanged_since,
    update_if_unchanged,
)
from omtx.gcp.firestore.leases import new_call

log = logging.getLogger(__name__)


def claim_jobs(
    batch_id: str, job_ids: Sequence[str], executor: str, call_id: str, deadline_s: float, *, lease_s: float
) -> list[Job]:
    """Move queued jobs to dispatched, recording executor, call id, attempt and deadline, and
    create the call's document with a lease of `lease_s`. A job already claimed (a redelivery, a
    racing dispatcher) is skipped: each update carries the update-time precondition of the
    snapshot it was decided on, so one claimant wins."""
    client = firestore_client()
    now = utcnow()
    candidates: list[tuple[firestore.DocumentSnapshot, Job, dict[str, Any]]] = []
    for snap in client.get_all([job_ref(batch_id, job_id) for job_id in job_ids]):
        if not snap.exists:
            log.warning("job %s of batch %s does not exist; skipped", snap.id, batch_id)
            continue
        job = Job.model_validate(fields_of(snap))
        if job.status != JobStatus.QUEUED:
            continue
        # Later attempts get longer: a job that timed out for being slow should not time out again.
        deadline = now + timedelta(seconds=deadline_s * 2 ** min(job.attempts, 4))
        changes = {
            "status": JobStatus.DISPATCHED.value,
            "attempts": job.attempts + 1,
            "executor": executor,
            "call_id": call_id,
            "deadline": deadline,
            "dispatched_at": now,
        }
        candidates.append((snap, job, changes))
    if not candidates:
        return []
    # Common case: one atomic commit for the chunk. If any precondition fails (someone else
    # claimed one of them), nothing was written and each job is claimed on its own.
    # The call's document goes in the same commit: no claimed job is ever without a lease.
    batch = client.batch()
    for snap, _, changes in candidates:
        batch.update(snap.reference, changes, option=unchanged_since(snap.update_time))
    batch.set(
        call_ref(batch_id, call_id), new_call(batch_id, [job.job_id for _, job, _ in candidates], executor, lease_s)
    )
    won: list[tuple[Job, dict[str, Any], str]] = []
    try:
        results = commit(batch, len(candidates) + 1)[: len(candidates)]  # the call's document last
        won = [
            (job, changes, token_of(r.update_time)) for (_, job, changes), r in zip(candidates, results, strict=True)
        ]
    except gexc.FailedPrecondition:
        for snap, job, changes in candidates:
            result = update_if_unchanged(snap.reference, changes, snap.update_time)
            if result is not None:
                won.append((job, changes, token_of(result.update_time)))
        if won:
            # Until this write lands only the jobs' deadline covers them (a crash in between).
            call_ref(batch_id, call_id).set(new_call(batch_id, [job.job_id for job, _, _ in won], executor, lease_s))
            metrics.count("firestore.writes")
    return [
        job.model_copy(update=changes | {"status": JobStatus.DISPATCHED, "claim_token": token})
        for job, changes, token in won
    ]


def release_jobs(jobs: Sequence[Job]) -> None:
    """Undo the claims of a call that did not start, so a redelivery can claim them again; a job
    that moved on since its claim (the call started after all and reported) is left alone."""
    for job in jobs:
        if job.claim_token is not None:
            changes = {"status": JobStatus.QUEUED.value, "attempts": job.attempts - 1, "queued_at": utcnow()}
            update_if_unchanged(job_ref(job.batch_id, job.job_id), changes, job.claim_token)


def record_executor_call(batch_id: str, call_id: str, executor_call_id: str) -> None:
    """Where the executor names a call its own way (Modal's fc-… ids), keep the mapping on the
    call's document instead of rewriting every job: cancel looks it up here."""
    call_ref(batch_id, call_id).update({"executor_call_id": executor_call_id})
    metrics.count("firestore.writes")


def executor_call_ids(batch_id: str, call_ids: Sequence[str]) -> dict[str, str]:
    """Our call id → the executor's (Modal's fc-…) where dispatch recorded one."""
    refs = [call_ref(batch_id, c) for c in call_ids]
    snaps = firestore_client().get_all(refs, field_paths=["executor_call_id"])
    found = {snap.id: str(named) for snap in snaps if (named := (snap._data or {}).get("executor_call_id"))}
    metrics.count("firestore.reads", len(refs))
    return found


def _jobs_waiting(status: JobStatus, since_field: str, before: datetime, limit: int) -> Any:
    """Jobs of every batch in `status` whose `since_field` is earlier than `before`."""
    return (
        firestore_client()
        .collection_group("jobs")
        .where(filter=firestore.FieldFilter("status", "==", status.value))
        .where(filter=firestore.FieldFilter(since_field, "<", before))
        .limit(limit)
    )


def overdue_jobs(now: datetime, limit: int) -> list[tuple[Job, str]]:
    """Dispatched jobs whose deadline has passed, across batches, with their claim tokens (the
    update time they were read at: acting on one is guarded by it, so a report that lands
    meanwhile wins). Needs a collection-group index on (status, deadline) in production."""
    query = _jobs_waiting(JobStatus.DISPATCHED, "deadline", now, limit)
    return [(Job.model_validate(fields_of(snap)), token_of(snap.update_time)) for snap in query.stream()]


def requeue_job(job: Job, token: str, reason: str) -> bool:
    """dispatched → queued for another attempt, unless the job moved on since it was read."""
    changes = {"status": JobStatus.QUEUED.value, "last_error": reason, "queued_at": utcnow()}
    return update_if_unchanged(job_ref(job.batch_id, job.job_id), changes, token) is not None


def stale_queued_jobs(queued_before: datetime, limit: int) -> list[Job]:
    """Jobs still queued long after they were queued: their `submitted` message was lost (a
    publish that failed after the write, a message that went to the dead-letter topic)."""
    query = _jobs_waiting(JobStatus.QUEUED, "queued_at", queued_before, limit)
    return [Job.model_validate(fields) for fields in stream_fields(query)]
