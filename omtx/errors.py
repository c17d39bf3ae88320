"""One base exception; handlers ack permanent errors and raise transient ones for redelivery."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError


class OmtxError(Exception):
    """Base of every error this package raises on purpose."""


class PermanentError(OmtxError):
    """Retrying cannot help (malformed message, unknown batch): record it and acknowledge."""


class TransientError(OmtxError):
    """Retrying may help (a dependency was unavailable): raise so the message is redelivered."""


class InputError(OmtxError):
    """User input failed validation; `details` lists every problem as {loc, msg, input}."""

    def __init__(self, message: str, details: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.details = details

    @classmethod
    def from_validation(cls, message: str, exc: ValidationError, prefix: tuple[str, ...] = ()) -> InputError:
        """Every pydantic error of `exc`, located under `prefix` (e.g. ("params",))."""
        details = [{"loc": [*prefix, *e["loc"]], "msg": e["msg"], "input": e.get("input")} for e in exc.errors()]
        return cls(message, details)

    def summary(self, limit: int = 20) -> str:
        """The problems on one line, for a log or a result file."""
        return "; ".join(f"{'.'.join(map(str, d['loc']))}: {d['msg']}" for d in self.details[:limit])


class QueryError(InputError):
    """A bad query-string parameter or header: a 400, not a 422 (the request is not a body)."""


class NotFound(OmtxError):
    """The requested batch or job does not exist (for this tenant)."""


class Conflict(OmtxError):
    """The request collides with an earlier one (an idempotency key reused with another body)."""

    def __init__(self, message: str, retry_after_s: int | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
