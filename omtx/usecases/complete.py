"""Complete: record a job's outcome and count it, exactly once."""

from __future__ import annotations

from omtx.events import JobDone
from omtx.gcp import firestore_store as store


def record_job_done(event: JobDone) -> bool:
    """True when this delivery changed state; False for a duplicate or late redelivery."""
    return store.complete_job(event)
