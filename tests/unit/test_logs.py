import json
import logging

import flask
import pytest

from omtx import logs, tracing
from omtx.handlers import handle_http
from omtx.logs import CloudLoggingFormatter

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE}-00f067aa0ba902b7-01"


@pytest.fixture
def lines():
    """What the root logger writes, one parsed JSON object per line."""
    captured: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record):
            captured.append(self.format(record))

    handler = Capture()
    handler.setFormatter(CloudLoggingFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in captured]
    root.removeHandler(handler)
    root.setLevel(level)


def test_a_plain_line_has_severity_message_and_no_trace(lines):
    logging.getLogger("omtx.test").warning("disk %s", "full")
    (entry,) = lines()
    assert entry["severity"] == "WARNING" and entry["message"] == "disk full" and entry["logger"] == "omtx.test"
    assert logs.TRACE not in entry and "logging.googleapis.com/labels" not in entry


def test_trace_span_and_labels_in_cloud_loggings_fields(lines, monkeypatch):
    monkeypatch.setenv("OMTX_PROJECT", "proj-1")
    from omtx.settings import get_settings

    get_settings.cache_clear()
    with tracing.continued(TRACEPARENT), logs.bind(batch_id="b1"):
        logging.getLogger("omtx.test").info("done", extra={"job_id": "j1", "attempt": 2})
    (entry,) = lines()
    assert entry[logs.TRACE] == f"projects/proj-1/traces/{TRACE}"
    assert entry["logging.googleapis.com/spanId"] == "00f067aa0ba902b7"
    assert entry["logging.googleapis.com/trace_sampled"] is True
    assert entry["logging.googleapis.com/labels"] == {"batch_id": "b1", "job_id": "j1"}
    assert entry["attempt"] == 2 and "batch_id" not in entry


def test_bound_fields_end_with_their_block(lines):
    with logs.bind(batch_id="b1", job_id=None):
        with logs.bind(job_id="j2"):
            logging.getLogger("t").info("inner")
        logging.getLogger("t").info("outer")
    logging.getLogger("t").info("after")
    inner, outer, after = lines()
    assert inner["logging.googleapis.com/labels"] == {"batch_id": "b1", "job_id": "j2"}
    assert outer["logging.googleapis.com/labels"] == {"batch_id": "b1"}
    assert "logging.googleapis.com/labels" not in after


def test_exceptions_are_one_line_with_the_stack_trace(lines):
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("t").exception("failed")
    (entry,) = lines()
    assert entry["severity"] == "ERROR" and "ValueError: boom" in entry["stack_trace"]


def test_http_requests_continue_the_callers_trace_and_log_one_line(lines):
    app = flask.Flask("t")
    seen = []

    def route(request):
        seen.append(tracing.current_trace_id())
        return flask.Response("{}", status=202, headers={"Location": "/v1/batches/b0123abcd"})

    with app.test_request_context("/v1/batches", method="POST", headers={"traceparent": TRACEPARENT}):
        response = handle_http(flask.request, route)
    assert response.status_code == 202 and seen == [TRACE]
    (entry,) = lines()
    assert entry["message"] == "POST /v1/batches 202"
    assert entry[logs.TRACE].endswith(f"/traces/{TRACE}")
    assert entry["logging.googleapis.com/labels"] == {"batch_id": "b0123abcd"}
    assert entry["httpRequest"]["requestMethod"] == "POST" and entry["httpRequest"]["status"] == 202
    assert entry["httpRequest"]["latency"].endswith("s")
    assert tracing.current() is None


def test_google_trace_header_and_quiet_health_checks(lines):
    app = flask.Flask("t")
    seen = []

    def route(request):
        seen.append(tracing.current_trace_id())
        return flask.Response("ok")

    with app.test_request_context("/healthz", headers={"X-Cloud-Trace-Context": f"{TRACE}/1;o=1"}):
        handle_http(flask.request, route)
    assert seen == [TRACE] and lines() == []
