"""Deleting a batch's documents, and the tombstone deleted_batches/{batch} that outlives them.

Only a finished batch is deleted (usecases.control checks it). The tombstone is written first
and the batch document last, so an interrupted delete leaves the batch readable and deleting
again finishes it; the tombstone names the tenant, so a repeated DELETE answers to it alone.
"""

from __future__ import annotations

from google.cloud import firestore

from omtx import metrics
from omtx.domain import Batch, utcnow
from omtx.gcp.clients import firestore_client
from omtx.gcp.firestore import idempotency
from omtx.gcp.firestore.common import batch_ref


def _tombstone_ref(batch_id: str) -> firestore.DocumentReference:
    return firestore_client().collection("deleted_batches").document(batch_id)


def deleted_by(batch_id: str) -> str | None:
    """The tenant that deleted this batch, so a repeated DELETE answers 204 to it alone."""
    snap = _tombstone_ref(batch_id).get()
    return str(snap.get("tenant")) if snap.exists else None


def delete_batch_documents(batch: Batch) -> int:
    """The tombstone first, then every subcollection (whatever its name), the idempotency keys
    that point at the batch, and the batch document last: an interrupted delete leaves the batch
    readable, and deleting again finishes it. Returns the documents deleted."""
    client = firestore_client()
    ref = batch_ref(batch.batch_id)
    _tombstone_ref(batch.batch_id).set({"tenant": batch.tenant, "batch_id": batch.batch_id, "deleted_at": utcnow()})
    deleted = 0
    for collection in ref.collections():
        deleted += client.recursive_delete(collection)  # each call flushes before returning
    deleted += idempotency.delete_keys_of(batch.batch_id)
    ref.delete()
    metrics.count("firestore.writes", deleted + 2)
    return deleted + 1
