"""Retrying a finished batch's failed jobs: the batch reopened under a new revision, and its
failed jobs → queued.

Every requeued job lowers its shard's failed count in the same commit, each job conditional on
the version it was read at, so the shards always sum to the jobs' recorded outcomes. The first
commit also reopens the batch (conditional on the batch's update time, so of two retries one
wins) and deletes its finalisation claim, all or nothing: the aggregator cannot finalise the
reopened batch before its jobs are requeued, and the next finaliser claims afresh.
"""

from __future__ import annotations

from collections.abc import Sequence

from google.api_core import exceptions as gexc
from google.cloud import firestore

from omtx.domain import Batch, BatchStatus, Job, JobStatus, utcnow
from omtx.gcp.clients import firestore_client
from omtx.gcp.firestore.common import (
    WRITE_BATCH_LIMIT,
    batch_ref,
    claim_ref,
    commit,
    job_ref,
    shard_ref,
    unchanged_since,
)


def _requeue_writes(batch: firestore.WriteBatch, jobs: Sequence[tuple[Job, str]]) -> None:
    now = utcnow()
    changes = {
        "status": JobStatus.QUEUED.value,
        "attempts": 0,  # a retry gets every attempt again; `retries` keeps the history
        "retries": firestore.Increment(1),
        "error": None,
        "metrics": {},
        "result_uri": None,
        "files": {},
        "duration_s": None,
        "finished_at": None,
        "cached_from": None,
        "deadline": None,
        "queued_at": now,
    }
    shards: dict[int, int] = {}
    for job, token in jobs:
        # The run's attempts are kept before `attempts` restarts (read at `token`, so exact).
        history = {"earlier_attempts": job.earlier_attempts + job.attempts}
        batch.update(job_ref(job.batch_id, job.job_id), changes | history, option=unchanged_since(token))
        shards[job.shard] = shards.get(job.shard, 0) + 1
    for shard, n in shards.items():
        batch.update(shard_ref(jobs[0][0].batch_id, shard), {JobStatus.FAILED.value: firestore.Increment(-n)})


def requeue_chunk_size(jobs: Sequence[tuple[Job, str]], reserved: int) -> int:
    """How many of `jobs` fit one commit beside `reserved` other writes and their shards'."""
    shards: set[int] = set()
    for n, (job, _) in enumerate(jobs):
        shards.add(job.shard)
        if n + 1 + len(shards) + reserved > WRITE_BATCH_LIMIT:
            return n
    return len(jobs)


def reopen_batch(batch: Batch, batch_token: str, first: Sequence[tuple[Job, str]]) -> bool:
    """The first commit of a retry: the batch back to running under a new revision, its
    finalisation claim removed (the next finaliser creates a fresh one), and `first` failed jobs
    back to queued with their shards' failed counts lowered, all or nothing. Lowering the
    counts in the same commit is what keeps the aggregator from finalising the reopened batch
    before its jobs are requeued. False if the batch changed since it was read (another retry)."""
    write = firestore_client().batch()
    write.update(
        batch_ref(batch.batch_id),
        {
            "status": BatchStatus.RUNNING.value,
            "revision": firestore.Increment(1),
            "finished_at": None,
            "succeeded": None,
            "failed": None,
            "reopened_at": utcnow(),
        },
        option=unchanged_since(batch_token),
    )
    write.delete(claim_ref(batch.batch_id))
    _requeue_writes(write, first)
    try:
        commit(write, 2 + len(first))
    except gexc.FailedPrecondition:
        return False
    return True


def requeue_jobs(jobs: Sequence[tuple[Job, str]]) -> int:
    """failed → queued, each with its shard's failed count lowered in the same commit (a job
    changed since it was read is skipped, with nothing counted). Returns how many moved."""
    write = firestore_client().batch()
    _requeue_writes(write, jobs)
    try:
        commit(write, len(jobs))
        return len(jobs)
    except gexc.FailedPrecondition:
        moved = 0
        for item in jobs:
            single = firestore_client().batch()
            _requeue_writes(single, [item])
            try:
                commit(single, 2)
                moved += 1
            except gexc.FailedPrecondition:
                continue
        return moved
