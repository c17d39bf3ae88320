"""Rejected messages: rejections/{source}-{message id}, written by whoever acknowledges a
permanently bad message, so it is dropped from the subscription but never silently. One
document per message id: a redelivery overwrites its own record rather than adding another.
"""

from __future__ import annotations

from typing import Any

from omtx import metrics
from omtx.domain import utcnow
from omtx.gcp.clients import firestore_client


def record_rejection(source: str, message_id: str, reason: str, payload: Any) -> None:
    """A permanently bad message is acknowledged, but never silently: it is kept here."""
    firestore_client().collection("rejections").document(f"{source}-{message_id}").set(
        {"source": source, "message_id": message_id, "reason": reason, "payload": payload, "at": utcnow()}
    )
    metrics.count("firestore.writes")
