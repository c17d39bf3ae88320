"""Complete: record a job's outcome and count it, exactly once."""

from __future__ import annotations

from omtx import metrics
from omtx.events import JobDone
from omtx.gcp import firestore_store as store


def record_job_done(event: JobDone) -> bool:
    """True when this delivery changed state; False for a duplicate or late redelivery."""
    applied = store.complete_job(event)
    metrics.count("jobs.completed" if applied else "jobs.duplicate_done")
    return applied
