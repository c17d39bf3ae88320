"""Refusals of the access layer; the API maps each to one HTTP status."""

from __future__ import annotations

from omtx.errors import OmtxError


class Unauthenticated(OmtxError):
    """No credential, or one that is not valid (401)."""


class Forbidden(OmtxError):
    """A valid credential that may not do this (403)."""


class RateLimited(OmtxError):
    """The key used up its requests for the current window (429)."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class BudgetExceeded(OmtxError):
    """The work would take the tenant past its GPU-second budget (402)."""
