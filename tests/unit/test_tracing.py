import base64
import json
import threading

import pytest
from cloudevents.http import CloudEvent
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from omtx import tracing
from omtx.events import JobDone, JobsSubmitted
from omtx.gcp import pubsub
from omtx.handlers import handle_pubsub
from omtx.predictors.base import LigandTask
from omtx.worker import Reporter, WorkOrder

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE}-{PARENT}-01"


@pytest.fixture
def exported():
    exporter = InMemorySpanExporter()
    tracing.configure(exporter)
    yield exporter
    tracing.configure(None)


def test_traceparent_round_trip_and_rejections():
    ctx = tracing.parse_traceparent(TRACEPARENT)
    assert ctx == tracing.TraceContext(TRACE, PARENT, sampled=True)
    assert ctx.traceparent == TRACEPARENT
    assert tracing.parse_traceparent(f"00-{TRACE}-{PARENT}-00").sampled is False
    for bad in [
        None,
        "",
        "garbage",
        f"00-{'0' * 32}-{PARENT}-01",
        f"00-{TRACE}-{'0' * 16}-01",
        f"ff-{TRACE}-{PARENT}-01",
    ]:
        assert tracing.parse_traceparent(bad) is None


def test_cloud_trace_context_header():
    ctx = tracing.parse_cloud_trace_context(f"{TRACE.upper()}/12345;o=1")
    assert ctx == tracing.TraceContext(TRACE, f"{12345:016x}", sampled=True)
    assert tracing.parse_cloud_trace_context(f"{TRACE}/1;o=0").sampled is False
    assert tracing.parse_cloud_trace_context(TRACE).trace_id == TRACE  # span id is optional
    assert tracing.parse_cloud_trace_context("nope/1;o=1") is None


def test_incoming_headers_w3c_first_then_google_then_new():
    assert tracing.from_headers(TRACEPARENT, f"{'a' * 32}/1;o=1").trace_id == TRACE
    assert tracing.from_headers(None, f"{'a' * 32}/1;o=1").trace_id == "a" * 32
    fresh = tracing.from_headers(None, None)
    assert len(fresh.trace_id) == 32 and fresh.trace_id != TRACE


def test_scopes_restore_the_previous_trace():
    assert tracing.current() is None
    with tracing.continued(TRACEPARENT):
        assert tracing.current_trace_id() == TRACE
        with tracing.continued(None) as other:
            assert tracing.current_trace_id() == other.trace_id != TRACE
        assert tracing.current_trace_id() == TRACE
    assert tracing.current() is None


def test_without_an_exporter_a_span_keeps_the_ids():
    with tracing.continued(TRACEPARENT), tracing.span("x") as ctx:
        assert ctx.traceparent == TRACEPARENT


def test_spans_are_children_of_the_incoming_trace(exported):
    with tracing.continued(TRACEPARENT), tracing.span("outer", batch="b1") as outer, tracing.span("inner"):
        assert outer.trace_id == TRACE and outer.span_id != PARENT
        inside = tracing.current_traceparent()
    inner_span, outer_span = exported.get_finished_spans()
    assert {inner_span.context.trace_id, outer_span.context.trace_id} == {int(TRACE, 16)}
    assert outer_span.parent.span_id == int(PARENT, 16) and outer_span.parent.is_remote
    assert inner_span.parent.span_id == outer_span.context.span_id
    assert outer_span.attributes["batch"] == "b1"
    # what a message published inside the inner span carries: the inner span as its parent
    assert inside == f"00-{TRACE}-{inner_span.context.span_id:016x}-01"


def test_an_unsampled_trace_exports_nothing(exported):
    with tracing.continued(f"00-{TRACE}-{PARENT}-00"), tracing.span("quiet"):
        pass
    assert exported.get_finished_spans() == ()


def test_published_messages_carry_the_current_trace():
    event = JobsSubmitted(batch_id="b1", chunk=0, job_ids=["j1"])
    assert "traceparent" not in pubsub.attributes(event)
    with tracing.continued(TRACEPARENT):
        assert pubsub.attributes(event)["traceparent"] == TRACEPARENT


def pubsub_event(event, **attributes) -> CloudEvent:
    return CloudEvent(
        {"type": "google.cloud.pubsub.topic.v1.messagePublished", "source": "//pubsub.googleapis.com/", "id": "7"},
        {
            "message": {
                "data": base64.b64encode(event.to_bytes()).decode(),
                "attributes": event.attributes() | attributes,
                "messageId": "7",
            }
        },
    )


def test_a_handler_continues_the_messages_trace_in_a_span(exported):
    seen = []
    event = JobsSubmitted(batch_id="b1", chunk=0, job_ids=["j1"])
    handle_pubsub(
        "dispatch",
        pubsub_event(event, traceparent=TRACEPARENT),
        JobsSubmitted,
        lambda e: seen.append(tracing.current()),
    )
    (span,) = exported.get_finished_spans()
    assert span.name == "dispatch" and span.context.trace_id == int(TRACE, 16)
    assert span.parent.span_id == int(PARENT, 16)
    assert seen[0].trace_id == TRACE and seen[0].span_id == f"{span.context.span_id:016x}"
    assert tracing.current() is None  # nothing leaks into the next request on this thread


def test_a_message_without_a_trace_starts_one():
    seen = []
    event = JobsSubmitted(batch_id="b1", chunk=0, job_ids=["j1"])
    handle_pubsub("dispatch", pubsub_event(event), JobsSubmitted, lambda e: seen.append(tracing.current()))
    assert seen[0] is not None and len(seen[0].trace_id) == 32


def order(**fields) -> WorkOrder:
    return WorkOrder(
        batch_id="b1",
        model="rdkit_props",
        protein={"sequence": "MENFQK"},
        ligands=[LigandTask(job_id="j1", index=0, name="x", canonical_smiles="CCO")],
        executor="local",
        **fields,
    )


def test_a_work_order_carries_the_dispatchers_trace_to_the_worker():
    assert order().traceparent is None
    with tracing.continued(TRACEPARENT):
        made = order()
    assert made.traceparent == TRACEPARENT
    assert WorkOrder.model_validate_json(made.model_dump_json()).traceparent == TRACEPARENT


def test_the_reporter_thread_publishes_in_the_workers_trace(monkeypatch):
    carried = []
    monkeypatch.setattr(
        "omtx.gcp.pubsub.publish",
        lambda topic, events: carried.append((threading.current_thread().name, tracing.current_traceparent())),
    )
    with tracing.continued(TRACEPARENT):
        reporter = Reporter("b1")
    from concurrent.futures import Future

    future: Future = Future()
    future.set_result(JobDone(batch_id="b1", job_id="j1", status="succeeded"))
    reporter.add(future)
    reporter.close()
    assert carried == [("omtx-reporter", TRACEPARENT)]


def test_the_worker_runs_in_the_orders_trace(monkeypatch):
    seen = []
    monkeypatch.setattr("omtx.worker._run_order", lambda o: seen.append(tracing.current_traceparent()) or [])
    from omtx.worker import run_work_order

    run_work_order(order(traceparent=TRACEPARENT))
    assert seen == [TRACEPARENT] and tracing.current() is None


def test_batch_documents_keep_the_submit_trace():
    from omtx.domain import Batch

    with tracing.continued(TRACEPARENT):
        batch = Batch(
            batch_id="b1",
            tenant="t",
            model="m",
            model_version="1",
            protein={"sequence": "MENFQK"},
            total=1,
            shard_count=1,
            input_uri="gs://i/b",
        )
    assert json.loads(batch.model_dump_json())["traceparent"] == TRACEPARENT
