"""Completion: a job's terminal outcome and its count on the shard, recorded exactly once.

The outcome and the shard's Increment go in one commit, so a job counts if and only if it is
recorded. With a claim token (the update time the claim left, echoed by the worker) the outcome
is written under that precondition: the first report wins and any redelivery, or a report of a
superseded attempt, fails it and counts nothing. Without one, a transaction reads only the job's
own (cold) document and records it unless it is already terminal; a late but valid result of a
job that is not terminal still counts, so finished GPU work is never thrown away.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import firestore
from pydantic import BaseModel

from omtx import metrics
from omtx.domain import JobStatus
from omtx.errors import PermanentError, TransientError
from omtx.events import JobDone
from omtx.gcp.clients import firestore_client
from omtx.gcp.firestore.common import TRANSIENT, commit, job_ref, shard_ref, unchanged_since


def _outcome(event: JobDone) -> dict[str, Any]:
    return {
        "status": event.status,
        "metrics": event.metrics,
        "result_uri": event.result_uri,
        "files": event.files,
        "error": event.error,
        "duration_s": event.duration_s,
        "finished_at": event.finished_at,
        "cached_from": event.cached_from,
    }


def complete_job(event: JobDone) -> bool:
    """Record one job's terminal state and count it, exactly once. False for a duplicate (or a
    late report of a superseded attempt). See `complete_jobs`."""
    if event.claim_token is not None and event.shard is not None:
        return _complete_with_tokens([event]) == 1
    return _complete_in_transaction(event)


class Completed(BaseModel):
    applied: int = 0  # jobs that changed state; the others were duplicates
    missing: list[str] = []  # job ids that do not exist (recorded by the caller, never retried)


def complete_jobs(events: Sequence[JobDone]) -> Completed:
    """Record several jobs of one batch, each exactly once.

    Fast path, one commit and no read for the whole group: each job's update time at claim (the
    claim token the worker echoes) is the precondition of its terminal update, committed
    atomically with one Increment per counter shard. The first report changes the update time,
    so a redelivery fails its precondition and counts nothing. If any job of the group was
    already recorded, the commit fails as a whole and the jobs are recorded one by one. Jobs
    without a token go through a transaction that reads only their own (cold) document. A job
    twice in one group counts once: two updates under one precondition in one commit would both
    apply."""
    first: dict[str, JobDone] = {}
    for event in events:
        first.setdefault(event.job_id, event)
    events = list(first.values())
    tokened = [e for e in events if e.claim_token is not None and e.shard is not None]
    done = Completed()
    try:
        done.applied = _complete_with_tokens(tokened) if tokened else 0
        singles = [e for e in events if e not in tokened]
    except _GroupFailed:
        singles = list(events)
    for event in singles:
        try:
            done.applied += complete_job(event)
        except PermanentError:
            done.missing.append(event.job_id)
    return done


class _GroupFailed(Exception):
    """Some job of a group was already recorded or does not exist: record them one by one."""


def _complete_with_tokens(events: Sequence[JobDone]) -> int:
    batch = firestore_client().batch()
    shards: dict[int, dict[str, Any]] = {}
    for event in events:
        assert event.claim_token is not None and event.shard is not None
        batch.update(job_ref(event.batch_id, event.job_id), _outcome(event), option=unchanged_since(event.claim_token))
        counts = shards.setdefault(event.shard, {})
        counts[event.status] = counts.get(event.status, 0) + 1
    for shard, counts in shards.items():
        batch.update(shard_ref(events[0].batch_id, shard), {k: firestore.Increment(n) for k, n in counts.items()})
    try:
        commit(batch, len(events) + len(shards))
        return len(events)
    except (gexc.FailedPrecondition, gexc.NotFound) as exc:
        if len(events) > 1:
            raise _GroupFailed from exc
        if isinstance(exc, gexc.NotFound):
            raise PermanentError(f"job {events[0].job_id} of batch {events[0].batch_id} does not exist") from exc
        # Recorded already, or the job was claimed again since this attempt started: a late but
        # valid result still counts if the job is not terminal (the GPU work is not thrown away).
        return int(_complete_in_transaction(events[0]))
    except TRANSIENT as exc:
        raise TransientError(f"recording {len(events)} job(s) of batch {events[0].batch_id} failed: {exc}") from exc


def _complete_in_transaction(event: JobDone) -> bool:
    ref = job_ref(event.batch_id, event.job_id)

    @firestore.transactional
    def apply(tx: firestore.Transaction) -> bool:
        snap = ref.get(transaction=tx)
        if not snap.exists:
            raise PermanentError(f"job {event.job_id} of batch {event.batch_id} does not exist")
        if JobStatus(snap.get("status")).is_terminal:
            return False
        tx.update(ref, _outcome(event))
        tx.update(shard_ref(event.batch_id, snap.get("shard")), {event.status: firestore.Increment(1)})
        return True

    try:
        applied = bool(apply(firestore_client().transaction()))
    except TRANSIENT as exc:
        raise TransientError(f"recording job {event.job_id} failed: {exc}") from exc
    if applied:
        metrics.count("firestore.writes", 2)
    return applied
