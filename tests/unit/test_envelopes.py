import base64
import json

import pytest
from cloudevents.http import CloudEvent
from google.events.cloud.firestore import DocumentEventData
from google.protobuf import timestamp_pb2

from omtx.envelopes import document_change, parse_payload, pubsub_message
from omtx.errors import PermanentError
from omtx.events import JobsSubmitted


def pubsub_event(data: bytes, **attributes) -> CloudEvent:
    return CloudEvent(
        {
            "type": "google.cloud.pubsub.topic.v1.messagePublished",
            "source": "//pubsub.googleapis.com/",
            "id": "42",
        },
        {"message": {"data": base64.b64encode(data).decode(), "attributes": attributes, "messageId": "42"}},
    )


def test_pubsub_payload_is_decoded_and_validated():
    event = JobsSubmitted(batch_id="b1", chunk=0, job_ids=["j1"])
    message = pubsub_message(pubsub_event(event.to_bytes(), **event.attributes()))
    assert message.attributes["event_type"] == "jobs.submitted"
    assert parse_payload(JobsSubmitted, message) == event


def test_a_malformed_payload_is_a_permanent_error():
    message = pubsub_message(pubsub_event(json.dumps({"batch_id": "b1", "chunk": 0}).encode()))
    with pytest.raises(PermanentError, match="either job_ids or a range"):
        parse_payload(JobsSubmitted, message)


def shard_event_bytes() -> bytes:
    data = DocumentEventData()
    pb = DocumentEventData.pb(data)
    value = pb.value
    value.name = "projects/p/databases/(default)/documents/batches/b1/shards/0000"
    value.fields["batch_id"].string_value = "b1"
    value.fields["expected"].integer_value = 20
    value.fields["succeeded"].integer_value = 19
    value.fields["ratio"].double_value = 0.5
    value.fields["at"].timestamp_value.CopyFrom(timestamp_pb2.Timestamp(seconds=1_700_000_000))
    value.fields["tags"].array_value.values.add().string_value = "x"
    return pb.SerializeToString()


def firestore_event(body: bytes | str) -> CloudEvent:
    return CloudEvent(
        {
            "type": "google.cloud.firestore.document.v1.written",
            "source": "//firestore.googleapis.com/projects/p/databases/(default)",
            "id": "e1",
            "subject": "documents/batches/b1/shards/0000",
        },
        body,
    )


@pytest.mark.parametrize("encode", [lambda b: b, base64.b64encode, lambda b: base64.b64encode(b).decode()])
def test_firestore_events_decode_raw_and_emulator_base64(encode):
    change = document_change(firestore_event(encode(shard_event_bytes())))
    assert change.path == "batches/b1/shards/0000"
    assert change.value is not None
    assert change.value["batch_id"] == "b1"
    assert change.value["expected"] == 20 and change.value["succeeded"] == 19
    assert change.value["ratio"] == 0.5
    assert change.value["tags"] == ["x"]
    assert change.value["at"].timestamp() == 1_700_000_000


def test_a_delete_event_has_no_value():
    assert document_change(firestore_event(b"")).value is None


def test_garbage_is_a_permanent_error():
    with pytest.raises(PermanentError):
        document_change(firestore_event(b"\xff\x00garbage\x12"))
