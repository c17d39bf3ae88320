"""Complete: record each finished job and count it, exactly once."""

from __future__ import annotations

from omtx import metrics
from omtx.events import JobDone, JobsDone
from omtx.gcp.firestore import completion, rejections


def record_jobs_done(event: JobsDone | JobDone) -> completion.Completed:
    """Accepts a worker's grouped report or a single job's (an older worker, a replayed message)."""
    results = event.results if isinstance(event, JobsDone) else [event]
    done = completion.complete_jobs(results)
    metrics.count("jobs.completed", done.applied)
    metrics.count("jobs.duplicate_done", len(results) - done.applied - len(done.missing))
    for job_id in done.missing:
        # Permanent: acknowledged with the rest of the message, but kept for triage.
        rejections.record_rejection(
            "complete",
            f"{event.batch_id}-{job_id}",
            f"job {job_id} does not exist",
            {"batch_id": event.batch_id, "job_id": job_id},
        )
    return done
