"""How much work a model has in flight, across every batch of the deployment."""

from __future__ import annotations

from typing import Any

from google.cloud import firestore

from omtx import metrics
from omtx.domain import JobStatus
from omtx.gcp.clients import firestore_client


def jobs_in_flight(model: str) -> int:
    """Dispatched, not yet terminal jobs of a model: one aggregation query (a read per 1,000)."""
    query: Any = (
        firestore_client()
        .collection_group("jobs")
        .where(filter=firestore.FieldFilter("model", "==", model))
        .where(filter=firestore.FieldFilter("status", "==", JobStatus.DISPATCHED.value))
    )
    rows: Any = query.count(alias="n").get()
    metrics.count("firestore.reads")
    return sum(int(r.value) for row in rows for r in row)
