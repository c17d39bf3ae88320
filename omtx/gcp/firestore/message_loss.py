"""A moment before which every unacknowledged Pub/Sub message is known to be lost: ops/pubsub.

Cloud Pub/Sub keeps messages; the local stack's emulator keeps them in memory, so a stack that
was stopped and started again (or an emulator restarted alone) lost every message in flight. The
stack records when the new emulator started, and the reconciler's next pass re-publishes at once
what it would otherwise re-publish only after `queued_grace_s` (queued jobs, a large batch's
ranges), then clears the mark. A pass that fails leaves it for the next one."""

from __future__ import annotations

from datetime import datetime

from google.cloud import firestore

from omtx import metrics
from omtx.gcp.clients import firestore_client
from omtx.gcp.firestore.common import token_of, update_if_unchanged


def _ref() -> firestore.DocumentReference:
    return firestore_client().collection("ops").document("pubsub")


def mark_messages_lost(before: datetime) -> None:
    _ref().set({"lost_before": before})
    metrics.count("firestore.writes")


def messages_lost() -> tuple[datetime, str] | None:
    """The mark and its update time (to clear it only if no newer mark came meanwhile)."""
    snap = _ref().get()
    metrics.count("firestore.reads")
    lost = (snap.to_dict() or {}).get("lost_before") if snap.exists else None
    return (lost, token_of(snap.update_time)) if lost is not None else None


def clear(token: str) -> None:
    update_if_unchanged(_ref(), {"lost_before": None}, token)
