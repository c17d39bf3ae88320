"""Recovery: taking back the jobs of dead or silent workers, from what they left behind first.

A worker stores every job's files, results.json last, before it publishes the job's `job-done`.
So a job still `dispatched` whose results.json exists finished, and only its message was lost
(a publish that failed, a push the Pub/Sub emulator never retried): it is recorded from that
file through the same token-guarded commit as a `job-done` (completion.complete_jobs), so a lost
message costs seconds, not a re-run. Only a job without a results.json runs again.

The reconciler looks in three places:
- calls whose lease lapsed (leases.py): their worker died or finished, so whatever of their jobs
  is still dispatched under them is recorded from its file or taken back;
- calls that reported jobs more than `report_grace_s` ago that are still dispatched: their
  `job-done` was lost while the worker runs on (a long chunk); recorded from their files;
- jobs past their deadline (the upper bound of a healthy run): recorded or taken back.

A results.json counts only if it was written since the job was last queued: a retry of a failed
job (usecases.control) must not be answered with the failure it is retrying.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from omtx.domain import Job, JobStatus
from omtx.events import JobDone
from omtx.gcp import erasure, storage
from omtx.gcp.firestore import claims, completion, leases
from omtx.settings import get_settings
from omtx.worker import job_prefix

log = logging.getLogger(__name__)


@dataclass
class TakeBack:
    """What a reconcile pass decided for the jobs it took back, acted on at the end of the pass."""

    recovered: int = 0  # recorded from the results.json their worker left behind
    retry: defaultdict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # batch → jobs requeued
    give_up: list[JobDone] = field(default_factory=list)  # out of attempts: failed with the reason
    taken: set[str] = field(default_factory=set)  # job ids decided on in this pass

    def take_back(self, jobs: Sequence[tuple[Job, str]], reason: str) -> None:
        """Dispatched jobs whose worker is gone: recorded from their files where they exist, the
        others queued again (each conditional on the version read) or, out of attempts, failed.
        A job found twice in one pass (a lapsed lease and a passed deadline) is decided once:
        failures are committed at the end of the pass, and two in one commit would both count."""
        jobs = [(job, token) for job, token in jobs if job.job_id not in self.taken]
        self.taken |= {job.job_id for job, _ in jobs}
        recorded = record_left_behind(jobs)
        self.recovered += len(recorded)
        max_attempts = get_settings().job_max_attempts
        for job, token in jobs:
            if job.job_id in recorded:
                continue
            why = f"{reason} (attempt {job.attempts}, {job.executor} call {job.call_id})"
            if job.attempts < max_attempts:
                if claims.requeue_job(job, token, why):
                    self.retry[job.batch_id].append(job.job_id)
            else:
                # Counted like any report, with the read's update time as claim token: if the
                # real result lands first, this one is the duplicate.
                self.give_up.append(
                    JobDone(
                        batch_id=job.batch_id,
                        job_id=job.job_id,
                        status="failed",
                        shard=job.shard,
                        claim_token=token,
                        error=f"{why}; gave up after {job.attempts} attempts",
                    )
                )


def left_behind(job: Job, token: str) -> JobDone | None:
    """The job's report rebuilt from the results.json its worker stored, if one was stored since
    the job was last queued; guarded by `token` like the worker's own report."""
    uri = storage.gcs_uri(get_settings().results_bucket, f"{job_prefix(job.batch_id, job.job_id)}/results.json")
    data = storage.get_bytes_if_written_since(uri, job.queued_at)
    if data is None:
        return None
    try:
        result: dict[str, Any] = json.loads(data)
        return JobDone(
            batch_id=job.batch_id,
            job_id=job.job_id,
            status=result["status"],
            shard=job.shard,
            claim_token=token,
            metrics=result.get("metrics") or {},
            result_uri=uri,
            files=result.get("files") or {},
            error=result.get("error"),
            executor=job.executor,
            call_id=job.call_id,
            duration_s=result.get("duration_s"),
            cached_from=result.get("cached_from"),
        )
    except (ValueError, KeyError, ValidationError) as exc:  # half a file, or not ours: run it again
        log.warning("results.json of job %s of batch %s unusable (%s); running it again", job.job_id, job.batch_id, exc)
        return None


def record_left_behind(jobs: Sequence[tuple[Job, str]]) -> set[str]:
    """Records every job of `jobs` that left a results.json; returns their ids (duplicates
    included: a job whose message landed meanwhile is recorded, just not by this)."""
    found = [done for job, token in jobs if (done := left_behind(job, token)) is not None]
    by_batch: dict[str, list[JobDone]] = defaultdict(list)
    for done in found:
        by_batch[done.batch_id].append(done)
    for group in by_batch.values():
        completion.complete_jobs(group)
    if found:
        log.info("recorded %d job(s) from the results.json their worker left behind", len(found))
    return {done.job_id for done in found}


def settle_lapsed_calls(now: datetime, limit: int, back: TakeBack) -> tuple[int, int]:
    """Every open call whose lease lapsed: its jobs still dispatched under it are taken back, the
    files its worker stored for cancelled jobs removed, and the call closed. Returns (calls
    settled, objects removed)."""
    settled = removed = 0
    for call in leases.lapsed_calls(now, limit):
        states = leases.job_states(call)
        waiting = [
            j for j, (status, call_id) in states.items() if status == JobStatus.DISPATCHED and call_id == call.call_id
        ]
        if mine := leases.dispatched_under(call, waiting):
            state = "finished" if call.finished_at else "stopped renewing" if call.started_at else "never started"
            back.take_back(mine, f"its worker {state} and its lease lapsed")
        removed += remove_outputs(
            call.batch_id, [j for j, (status, _) in states.items() if status == JobStatus.CANCELLED]
        )
        settled += leases.close_call(call)
    return settled, removed


def check_reports(now: datetime, limit: int) -> int:
    """Jobs that running workers reported more than `report_grace_s` ago and that are still
    dispatched lost their `job-done`: recorded from their files. Returns how many."""
    grace = timedelta(seconds=get_settings().report_grace_s)
    recovered = 0
    for call in leases.reporting_calls(now - grace, limit):
        due = [job_id for job_id, at in call.reported.items() if at < now - grace]
        if not due:
            continue
        recovered += len(record_left_behind(leases.dispatched_under(call, due)))
        leases.forget_reports(call, due)
    return recovered


def remove_outputs(batch_id: str, job_ids: Sequence[str]) -> int:
    """What a worker stored for jobs that were cancelled under it: no API lists them, so they go
    (a cancelled job has no files; the job's own folder is all it ever writes)."""
    bucket = get_settings().results_bucket
    return sum(erasure.delete_prefix(bucket, f"{job_prefix(batch_id, job_id)}/") for job_id in job_ids)
