"""The webhook delivery log: batches/{batch}/webhooks/{delivery_id}, a few documents per batch
(six milestones and the completion).

A delivery is created once per event (create-only: the first writer's copy is what is sent) and
is then written by one attempt at a time: an attempt claims it with an update-time precondition
(`update` with the token it read), so duplicate messages never send concurrently, and records its
result under the token its claim left. An attempt whose claim was taken over meanwhile still
appends itself (ArrayUnion), so the log never loses one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import firestore

from omtx import metrics
from omtx.gcp.clients import firestore_client
from omtx.gcp.firestore.common import batch_ref, token_of, update_if_unchanged
from omtx.webhook_models import DeliveryState, WebhookAttempt, WebhookDelivery


def _ref(batch_id: str, delivery_id: str) -> firestore.DocumentReference:
    return batch_ref(batch_id).collection("webhooks").document(delivery_id)


def ensure(batch_id: str, delivery: WebhookDelivery) -> WebhookDelivery:
    """Create the delivery unless it exists; returns what is stored (the first writer's)."""
    ref = _ref(batch_id, delivery.delivery_id)
    try:
        ref.create(delivery.model_dump(mode="python"))
        metrics.count("firestore.writes")
        return delivery
    except gexc.AlreadyExists:
        snap = ref.get()
        metrics.count("firestore.reads")
        return WebhookDelivery.model_validate(snap.to_dict())


def get(batch_id: str, delivery_id: str) -> tuple[WebhookDelivery, str] | None:
    """The delivery and its token (update time) for a conditional `update`."""
    snap = _ref(batch_id, delivery_id).get()
    metrics.count("firestore.reads")
    if not snap.exists:
        return None
    return WebhookDelivery.model_validate(snap.to_dict()), token_of(snap.update_time)


def update(batch_id: str, delivery_id: str, changes: Mapping[str, Any], token: str) -> str | None:
    """Apply `changes` unless the delivery changed since `token`; returns the new token, or None
    when someone else changed it first."""
    result = update_if_unchanged(_ref(batch_id, delivery_id), dict(changes), token)
    return None if result is None else token_of(result.update_time)


def append_attempt(batch_id: str, delivery_id: str, attempt: WebhookAttempt) -> None:
    """Keep an attempt whose claim was taken over meanwhile: the log never loses one."""
    _ref(batch_id, delivery_id).update({"attempts": firestore.ArrayUnion([attempt.model_dump(mode="python")])})
    metrics.count("firestore.writes")


def list_deliveries(batch_id: str) -> list[WebhookDelivery]:
    """The batch's delivery log, oldest first (for GET /v1/batches/{id})."""
    docs = batch_ref(batch_id).collection("webhooks").stream()
    deliveries = [WebhookDelivery.model_validate(snap.to_dict()) for snap in docs]
    metrics.count("firestore.reads", max(1, len(deliveries)))
    return sorted(deliveries, key=lambda d: (d.created_at, d.delivery_id))


def due(now: datetime, limit: int) -> list[tuple[str, WebhookDelivery]]:
    """Pending deliveries of every batch whose next attempt is due, with their batch ids. Needs a
    collection-group index on webhooks (state, next_attempt_at) in production."""
    query = (
        firestore_client()
        .collection_group("webhooks")
        .where(filter=firestore.FieldFilter("state", "==", DeliveryState.PENDING.value))
        .where(filter=firestore.FieldFilter("next_attempt_at", "<=", now))
        .limit(limit)
    )
    found = [
        (snap.reference.parent.parent.id, WebhookDelivery.model_validate(snap.to_dict()))
        for snap in query.stream()
        if snap.reference.parent.parent is not None
    ]
    metrics.count("firestore.reads", max(1, len(found)))
    return found
