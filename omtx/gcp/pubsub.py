"""Publishing events to Pub/Sub topics. Every message carries the current trace as its
`traceparent` attribute, which the receiving handler restores (omtx/handlers.py)."""

from __future__ import annotations

from collections.abc import Iterable

from google.api_core import exceptions as gexc

from omtx import metrics, tracing
from omtx.errors import TransientError
from omtx.events import Event
from omtx.gcp.clients import publisher_client
from omtx.settings import get_settings


def topic_path(topic: str) -> str:
    return publisher_client().topic_path(get_settings().project, topic)


def attributes(event: Event) -> dict[str, str]:
    traceparent = tracing.current_traceparent()
    return event.attributes() | ({"traceparent": traceparent} if traceparent else {})


def publish(topic: str, events: Iterable[Event]) -> list[str]:
    """Publish and wait until Pub/Sub has every message; returns the message ids."""
    client = publisher_client()
    path = topic_path(topic)
    futures = [client.publish(path, event.to_bytes(), **attributes(event)) for event in events]
    try:
        ids = [future.result(timeout=get_settings().publish_timeout_s) for future in futures]
    except (gexc.GoogleAPICallError, TimeoutError) as exc:
        raise TransientError(f"publishing to {topic} failed: {exc}") from exc
    metrics.count(f"pubsub.published.{topic}", len(ids))
    return ids
