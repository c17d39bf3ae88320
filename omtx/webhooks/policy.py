"""When a webhook attempt counts as delivered, when it is worth another try, and how long to wait.

A 2xx is delivered. Timeouts, connection errors, 5xx, 408 and 429 may pass, so they are retried
with exponential backoff (a 429's Retry-After is honoured) up to `max_attempts`; any other answer
(a 4xx, a redirect, which is never followed) means the receiver refuses it: retrying cannot help.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from omtx.settings import Settings

RETRYABLE_4XX = frozenset({408, 429})


class Verdict(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    FAILED = "failed"  # refused, or out of attempts


@dataclass(frozen=True)
class Response:
    """What one attempt got: a status code, or an error before any answer."""

    status_code: int | None = None
    error: str | None = None
    refused: bool = False  # not sent at all and never will be (the URL is not allowed now)
    retry_after_s: float | None = None


def retryable(response: Response) -> bool:
    if response.refused:
        return False
    code = response.status_code
    return code is None or code >= 500 or code in RETRYABLE_4XX


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    backoff_s: float
    backoff_max_s: float

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(settings.webhook_max_attempts, settings.webhook_backoff_s, settings.webhook_backoff_max_s)

    def verdict(self, attempt: int, response: Response) -> Verdict:
        """`attempt` is 1 for the first try."""
        if response.status_code is not None and 200 <= response.status_code < 300:
            return Verdict.DELIVERED
        if retryable(response) and attempt < self.max_attempts:
            return Verdict.RETRY
        return Verdict.FAILED

    def delay_s(self, attempt: int, retry_after_s: float | None = None) -> float:
        """The least wait after failed attempt `attempt` before the next one."""
        delay = self.backoff_s * 2 ** (attempt - 1)
        if retry_after_s is not None:
            delay = max(delay, retry_after_s)
        return min(delay, self.backoff_max_s)
