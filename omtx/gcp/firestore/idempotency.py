"""Idempotency keys: idempotency_keys/{sha256(tenant, key)}, one per key a tenant submitted with.

A key is claimed create-only before its batch is created, so of two requests with the same key
one creates the batch and the other gets the first one's batch id (and, once it finished, its
outcome to replay). A claim whose owner died (lease expired, still `creating`) can be taken over
under an update-time precondition; a key sent with a different request body never is. The keys
that point at a batch go when the batch is deleted (retention).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import firestore
from pydantic import BaseModel

from omtx import metrics
from omtx.domain import utcnow
from omtx.gcp.clients import firestore_client
from omtx.gcp.firestore.common import fields_of, update_if_unchanged

IDEMPOTENT_LIST_CAP = 1_000  # warnings / rejected rows kept for a replay (documents are ≤ 1 MiB)


class IdempotencyClaim(BaseModel):
    fingerprint: str
    batch_id: str
    owned: bool  # this caller creates the batch
    outcome: dict[str, Any] | None = None  # set once the first request finished


def _keys() -> firestore.CollectionReference:
    return firestore_client().collection("idempotency_keys")


def _key_ref(tenant: str, key: str) -> firestore.DocumentReference:
    digest = hashlib.sha256(f"{tenant}\0{key}".encode()).hexdigest()[:40]
    return _keys().document(digest)


def claim_idempotency_key(tenant: str, key: str, fingerprint: str, batch_id: str, lease_s: int) -> IdempotencyClaim:
    """Create-only claim of a key; a claim whose owner died (lease expired) can be taken over."""
    ref = _key_ref(tenant, key)
    now = utcnow()
    claim = {
        "tenant": tenant,
        "fingerprint": fingerprint,
        "batch_id": batch_id,
        "state": "creating",
        "lease_until": now + timedelta(seconds=lease_s),
        "created_at": now,
    }
    try:
        ref.create(claim)
        metrics.count("firestore.writes")
        return IdempotencyClaim(fingerprint=fingerprint, batch_id=batch_id, owned=True)
    except gexc.AlreadyExists:
        pass
    snap = ref.get()
    data = fields_of(snap)
    seen = IdempotencyClaim(
        fingerprint=data["fingerprint"], batch_id=data["batch_id"], owned=False, outcome=data.get("outcome")
    )
    if seen.fingerprint != fingerprint or data["state"] == "done" or data["lease_until"] > now:
        return seen
    if update_if_unchanged(snap.reference, claim, snap.update_time) is None:
        return seen
    return IdempotencyClaim(fingerprint=fingerprint, batch_id=batch_id, owned=True)


def forget_idempotency_key(tenant: str, key: str) -> None:
    _key_ref(tenant, key).delete()
    metrics.count("firestore.writes")


def finish_idempotency_key(tenant: str, key: str, outcome: dict[str, Any]) -> None:
    kept = {k: (v[:IDEMPOTENT_LIST_CAP] if isinstance(v, list) else v) for k, v in outcome.items()}
    _key_ref(tenant, key).update({"state": "done", "outcome": kept, "done_at": utcnow()})
    metrics.count("firestore.writes")


def delete_keys_of(batch_id: str) -> int:
    """Deletes the keys that point at the batch (without counting the writes: the caller does);
    returns how many."""
    deleted = 0
    for snap in _keys().where(filter=firestore.FieldFilter("batch_id", "==", batch_id)).stream():
        snap.reference.delete()
        deleted += 1
    return deleted
