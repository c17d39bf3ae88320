"""The trace a batch's work belongs to, carried across every service.

Submit continues the caller's trace (`traceparent` or `X-Cloud-Trace-Context` header) or starts
one; every published message carries it as its `traceparent` attribute, each handler restores it
into a context variable, the worker gets it in its work order, and the batch document keeps it for
the Firestore-triggered aggregate. Log lines read it from here (omtx/logs.py).

Spans go to Cloud Trace only when `deployment` is `cloud`; elsewhere `span()` only scopes the
ids. This module imports only the standard library: the Modal worker image carries it, and
OpenTelemetry is imported when a span is first exported.
"""

from __future__ import annotations

import atexit
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Tracer

_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
# TRACE_ID/SPAN_ID;o=OPTIONS, span id in decimal (Google's own header, still sent by some callers)
_CLOUD_TRACE = re.compile(r"^([0-9a-fA-F]{32})(?:/(\d{1,20}))?(?:;o=([01]))?$")


@dataclass(frozen=True)
class TraceContext:
    trace_id: str  # 32 lowercase hex digits
    span_id: str  # 16 lowercase hex digits: the parent of whatever happens next
    sampled: bool = True

    @property
    def traceparent(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-{'01' if self.sampled else '00'}"


def _new_span_id() -> str:
    return secrets.token_hex(8)


def new_trace() -> TraceContext:
    return TraceContext(trace_id=secrets.token_hex(16), span_id=_new_span_id())


def parse_traceparent(value: str | None) -> TraceContext | None:
    """A W3C `traceparent`; None when absent or malformed (all-zero ids are invalid)."""
    match = _TRACEPARENT.match((value or "").strip().lower())
    if not match or match[1] == "ff" or set(match[2]) == {"0"} or set(match[3]) == {"0"}:
        return None
    return TraceContext(trace_id=match[2], span_id=match[3], sampled=bool(int(match[4], 16) & 1))


def parse_cloud_trace_context(value: str | None) -> TraceContext | None:
    match = _CLOUD_TRACE.match((value or "").strip())
    if not match or set(match[1]) == {"0"}:
        return None
    span = int(match[2]) if match[2] else 0
    span_id = f"{span:016x}" if 0 < span < 2**64 else _new_span_id()
    return TraceContext(trace_id=match[1].lower(), span_id=span_id, sampled=match[3] != "0")


def from_headers(traceparent: str | None, cloud_trace_context: str | None) -> TraceContext:
    """The caller's trace from its `traceparent` or `X-Cloud-Trace-Context` header (W3C first),
    or a new one."""
    return parse_traceparent(traceparent) or parse_cloud_trace_context(cloud_trace_context) or new_trace()


_current: ContextVar[TraceContext | None] = ContextVar("omtx_trace", default=None)


def current() -> TraceContext | None:
    return _current.get()


def current_traceparent() -> str | None:
    ctx = _current.get()
    return ctx.traceparent if ctx else None


def current_trace_id() -> str | None:
    ctx = _current.get()
    return ctx.trace_id if ctx else None


@contextmanager
def use(ctx: TraceContext | None) -> Iterator[TraceContext | None]:
    """Run the block in `ctx`; the previous context comes back afterwards (threads that serve
    many requests must not carry one request's trace into the next)."""
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)


@contextmanager
def continued(traceparent: str | None) -> Iterator[TraceContext]:
    """Continue the trace a message or document carries, or start one when it carries none."""
    with use(parse_traceparent(traceparent) or new_trace()) as ctx:
        assert ctx is not None
        yield ctx


# --- spans ----------------------------------------------------------------------------------------


@dataclass
class _Exporting:
    provider: TracerProvider | None = None
    tracer: Tracer | None = None
    decided: bool = False


_exporting = _Exporting()


def configure(exporter: SpanExporter | None, *, batch: bool = False) -> None:
    """Export spans to `exporter` (None: export nothing). Tests pass an in-memory exporter;
    cloud mode passes Cloud Trace's on the first span (`_tracer`)."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    if _exporting.provider is not None:
        _exporting.provider.shutdown()
    _exporting.provider = _exporting.tracer = None
    _exporting.decided = True
    if exporter is None:
        return
    service = os.environ.get("K_SERVICE") or os.environ.get("FUNCTION_TARGET") or "omtx"
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    # Batching keeps the export off the request path; the local and test exporters are immediate.
    provider.add_span_processor(BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter))
    _exporting.provider = provider
    _exporting.tracer = provider.get_tracer("omtx")


def _tracer() -> Tracer | None:
    if not _exporting.decided:
        from omtx.settings import get_settings

        settings = get_settings()
        if settings.deployment == "cloud":
            from opentelemetry.exporter.cloud_trace import CloudTraceSpanExporter

            configure(CloudTraceSpanExporter(project_id=settings.project), batch=True)
            # Cloud Run stops an instance with SIGTERM; what is still batched goes out first.
            atexit.register(_flush)
        else:
            _exporting.decided = True
    return _exporting.tracer


def _flush() -> None:
    if _exporting.provider is not None:
        _exporting.provider.shutdown()


@contextmanager
def span(name: str, **attributes: Any) -> Iterator[TraceContext]:
    """A span of the current trace (started if there is none). While it is open, the current
    context names it as the parent, so messages published inside are its children."""
    ctx = _current.get() or new_trace()
    tracer = _tracer()
    if tracer is None:
        with use(ctx) as same:
            assert same is not None
            yield same
        return
    from opentelemetry import trace

    parent = trace.NonRecordingSpan(
        trace.SpanContext(
            trace_id=int(ctx.trace_id, 16),
            span_id=int(ctx.span_id, 16),
            is_remote=True,
            trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED if ctx.sampled else trace.TraceFlags.DEFAULT),
        )
    )
    clean = {k: v for k, v in attributes.items() if v is not None}
    with tracer.start_as_current_span(name, context=trace.set_span_in_context(parent), attributes=clean) as opened:
        child = replace(ctx, span_id=f"{opened.get_span_context().span_id:016x}")
        with use(child):
            yield child
