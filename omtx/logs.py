"""Structured logs in Cloud Logging's JSON format, one object per line on stdout.

Cloud Run's logging agent turns `severity`, `message`, `logging.googleapis.com/trace`,
`.../spanId`, `.../trace_sampled`, `.../labels` and `httpRequest` into the log entry's own fields,
so a batch's lines are found by label (batch_id, job_id) and a job's lines across every service
by its trace. Handlers bind the batch and job they work on (`bind`); the trace comes from
omtx/tracing.py. Standard library only: the Modal worker image carries it.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from omtx import tracing

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}
# Fields that become entry labels: indexed, shown in the log viewer's summary line, strings only.
LABELS = ("batch_id", "job_id")
TRACE = "logging.googleapis.com/trace"

_bound: ContextVar[dict[str, str] | None] = ContextVar("omtx_log_fields", default=None)


@contextmanager
def bind(**fields: str | None) -> Iterator[None]:
    """Every line logged in the block carries these fields (None values are left out)."""
    token = _bound.set((_bound.get() or {}) | {k: v for k, v in fields.items() if v is not None})
    try:
        yield
    finally:
        _bound.reset(token)


def _project() -> str:
    from omtx.settings import get_settings  # lazily: never at import time

    return get_settings().project


class CloudLoggingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "severity": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
        }
        fields = (_bound.get() or {}) | {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
        labels = {k: str(fields.pop(k)) for k in LABELS if fields.get(k) is not None}
        if labels:
            entry["logging.googleapis.com/labels"] = labels
        ctx = tracing.current()
        if ctx is not None:
            entry[TRACE] = f"projects/{_project()}/traces/{ctx.trace_id}"
            entry["logging.googleapis.com/spanId"] = ctx.span_id
            entry["logging.googleapis.com/trace_sampled"] = ctx.sampled
        entry.update(fields)
        if record.exc_info:
            entry["stack_trace"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def setup_logging(level: int = logging.INFO) -> None:
    root = logging.getLogger()
    if any(isinstance(h.formatter, CloudLoggingFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(CloudLoggingFormatter())
    root.addHandler(handler)
    root.setLevel(level)


def http_request(method: str, url: str, status: int, latency_s: float, **more: Any) -> dict[str, Any]:
    """Cloud Logging's `httpRequest` field for a request log line."""
    return {
        "httpRequest": {
            "requestMethod": method,
            "requestUrl": url,
            "status": status,
            "latency": f"{latency_s:.3f}s",
            **more,
        }
    }
