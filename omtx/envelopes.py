"""Transport shapes: Pub/Sub push messages and Firestore document events, as CloudEvents.
Envelope parsing lives here; the domain payloads are the models in `omtx.events`."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from cloudevents.http import CloudEvent
from google.events.cloud.firestore import DocumentEventData
from pydantic import BaseModel, TypeAdapter, ValidationError

from omtx.errors import PermanentError

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class PubsubMessage:
    message_id: str
    data: bytes
    attributes: dict[str, str]


def pubsub_message(event: CloudEvent) -> PubsubMessage:
    """The message inside a `google.cloud.pubsub.topic.v1.messagePublished` CloudEvent."""
    try:
        message = event.data["message"]
        data = base64.b64decode(message.get("data") or "")
    except (TypeError, KeyError, binascii.Error) as exc:
        raise PermanentError(f"not a Pub/Sub message event: {exc}") from exc
    return PubsubMessage(
        message_id=str(message.get("messageId") or event["id"]),
        data=data,
        attributes=dict(message.get("attributes") or {}),
    )


def parse_payload(model: type[M] | TypeAdapter[Any], message: PubsubMessage) -> Any:
    """The message body as `model` (a pydantic model, or a TypeAdapter for a union of them)."""
    try:
        if isinstance(model, TypeAdapter):
            return model.validate_json(message.data)
        return model.model_validate_json(message.data)
    except ValidationError as exc:
        raise PermanentError(f"message {message.message_id} is not a valid {exc.title}: {exc}") from exc


@dataclass(frozen=True)
class DocumentChange:
    path: str  # e.g. "batches/B/shards/0000"
    value: dict[str, Any] | None  # None when the document was deleted
    old_value: dict[str, Any] | None  # None when the document was created


def document_change(event: CloudEvent) -> DocumentChange:
    """A `google.cloud.firestore.document.v1.*` event. Eventarc sends raw protobuf; the emulator
    sends the same protobuf as base64 text, so both are accepted."""
    raw = event.data
    if isinstance(raw, str):
        raw = raw.encode()
    if not isinstance(raw, bytes | bytearray):
        raise PermanentError(f"unexpected Firestore event payload type {type(raw).__name__}")
    try:
        raw = base64.b64decode(raw, validate=True)
    except binascii.Error:
        pass  # already raw protobuf
    try:
        data = DocumentEventData.deserialize(bytes(raw))
    except Exception as exc:  # protobuf raises DecodeError and others for garbage
        raise PermanentError(f"undecodable Firestore event: {exc}") from exc
    path = event.get("document") or str(event.get("subject", "")).removeprefix("documents/")
    pb = DocumentEventData.pb(data)
    return DocumentChange(
        path=path,
        value={k: value_of(v) for k, v in pb.value.fields.items()} if pb.HasField("value") else None,
        old_value={k: value_of(v) for k, v in pb.old_value.fields.items()} if pb.HasField("old_value") else None,
    )


def value_of(v: Any) -> Any:
    """A protobuf Firestore `Value` as plain Python."""
    kind = v.WhichOneof("value_type")
    if kind in (None, "null_value"):
        return None
    if kind == "map_value":
        return {k: value_of(x) for k, x in v.map_value.fields.items()}
    if kind == "array_value":
        return [value_of(x) for x in v.array_value.values]
    if kind == "timestamp_value":
        # Whole seconds and microseconds apart: one float of both loses a microsecond now and then
        stamp = v.timestamp_value
        return datetime.fromtimestamp(stamp.seconds, UTC) + timedelta(microseconds=stamp.nanos // 1000)
    if kind == "bytes_value":
        return bytes(v.bytes_value)
    return getattr(v, kind)


def json_or_text(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return data[:2000].decode(errors="replace")
