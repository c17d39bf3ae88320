"""What a webhook says (the body receivers get) and the delivery log kept on the batch."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field

from omtx.domain import utcnow


class WebhookEvent(BaseModel):
    """The JSON body of every webhook. `id` is stable per event: a retried or repeated delivery
    carries the same id, so receivers dedupe on it."""

    id: str
    type: Literal["batch.milestone", "batch.done"]
    batch_id: str
    created_at: datetime
    data: dict[str, Any]


class DeliveryState(StrEnum):
    PENDING = "pending"  # not delivered yet; another attempt will come
    DELIVERED = "delivered"
    FAILED = "failed"  # refused by the receiver, or out of attempts: `error` says which


class WebhookAttempt(BaseModel):
    number: int  # 1 for the first try
    at: datetime
    duration_ms: int
    status_code: int | None = None  # None: no HTTP answer (timeout, connection error, refused URL)
    error: str | None = None


class WebhookDelivery(BaseModel):
    """One event to one URL: batches/{batch}/webhooks/{delivery_id}. Created once per event and
    never deleted with the batch still there, so the log shows every attempt."""

    delivery_id: str
    event_id: str
    event_type: str
    url: str
    body: str  # sent byte for byte on every attempt; only the signature's timestamp changes
    state: DeliveryState = DeliveryState.PENDING
    attempts: list[WebhookAttempt] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=utcnow)
    # when the sweep re-drives it (the first message normally gets there first); None once settled
    next_attempt_at: datetime | None = None
    # an attempt in flight holds the delivery until then (a duplicate message waits, it does not send)
    lease_until: datetime | None = None
    delivered_at: datetime | None = None
    error: str | None = None
    traceparent: str | None = None  # the batch's trace, which every attempt continues
