"""What every service does with a delivery: continue the trace it belongs to, parse it, run one
use case, and map the outcome to ack (return) or redelivery (raise)."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

import flask
from cloudevents.http import CloudEvent
from pydantic import BaseModel, TypeAdapter

from omtx import logs, tracing
from omtx.envelopes import json_or_text, parse_payload, pubsub_message
from omtx.errors import PermanentError
from omtx.gcp.firestore import rejections

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)
_BATCH_IN_PATH = re.compile(r"/v1/batches/(b[0-9a-f]+)")
QUIET_PATHS = frozenset({"/healthz"})  # probed every few seconds: no request log


def handle_pubsub(
    source: str, event: CloudEvent, model: type[M] | TypeAdapter[Any], use_case: Callable[[Any], Any]
) -> Any:
    message = pubsub_message(event)
    attributes = message.attributes
    with (
        tracing.continued(attributes.get("traceparent")),
        logs.bind(batch_id=attributes.get("batch_id"), job_id=attributes.get("job_id")),
        tracing.span(
            source, **{"messaging.message.id": message.message_id, "omtx.batch_id": attributes.get("batch_id")}
        ),
    ):
        try:
            payload = parse_payload(model, message)
            result = use_case(payload)
        except PermanentError as exc:
            # Acknowledged, so it does not cycle until the dead-letter topic, but recorded.
            log.error("%s rejected message %s: %s", source, message.message_id, exc, extra={"source": source})
            rejections.record_rejection(source, message.message_id, str(exc), json_or_text(message.data))
            return None
        log.info("%s handled message %s: %s", source, message.message_id, result)
        return result


def event_type(event: CloudEvent) -> str | None:
    """The `event_type` attribute of a Pub/Sub message event (None for anything else), for a
    service that takes more than one topic."""
    try:
        return pubsub_message(event).attributes.get("event_type")
    except PermanentError:
        return None


def handle_http(request: flask.Request, route: Callable[[flask.Request], flask.Response]) -> flask.Response:
    """An HTTP request in the caller's trace (or a new one), with one request log line."""
    started = time.perf_counter()
    caller = tracing.from_headers(request.headers.get("traceparent"), request.headers.get("X-Cloud-Trace-Context"))
    with tracing.use(caller), tracing.span(f"{request.method} {request.path}"):
        response = route(request)
        if request.path not in QUIET_PATHS:
            found = _BATCH_IN_PATH.search(request.path) or _BATCH_IN_PATH.search(response.headers.get("Location", ""))
            with logs.bind(batch_id=found[1] if found else None):
                log.info(
                    "%s %s %d",
                    request.method,
                    request.path,
                    response.status_code,
                    extra=logs.http_request(
                        request.method,
                        request.url,
                        response.status_code,
                        time.perf_counter() - started,
                        userAgent=request.user_agent.string,
                    ),
                )
    return response
