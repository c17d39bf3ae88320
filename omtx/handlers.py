"""What every event-driven service does with a delivery: parse it, run one use case, and map
the outcome to ack (return) or redelivery (raise)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from cloudevents.http import CloudEvent
from pydantic import BaseModel, TypeAdapter

from omtx.envelopes import json_or_text, parse_payload, pubsub_message
from omtx.errors import PermanentError
from omtx.gcp import firestore_store as store

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)


def handle_pubsub(
    source: str, event: CloudEvent, model: type[M] | TypeAdapter[Any], use_case: Callable[[Any], Any]
) -> Any:
    message = pubsub_message(event)
    try:
        payload = parse_payload(model, message)
        result = use_case(payload)
    except PermanentError as exc:
        # Acknowledged, so it does not cycle until the dead-letter topic, but recorded.
        log.error("%s rejected message %s: %s", source, message.message_id, exc, extra={"source": source})
        store.record_rejection(source, message.message_id, str(exc), json_or_text(message.data))
        return None
    log.info(
        "%s handled message %s: %s",
        source,
        message.message_id,
        result,
        extra={"batch_id": getattr(payload, "batch_id", None)},
    )
    return result
