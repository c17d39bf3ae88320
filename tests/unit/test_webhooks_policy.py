import pytest

from omtx.settings import Settings
from omtx.webhooks.deliver import _retry_after
from omtx.webhooks.policy import Response, RetryPolicy, Verdict

POLICY = RetryPolicy(max_attempts=5, backoff_s=2.0, backoff_max_s=60.0)


@pytest.mark.parametrize(
    ("response", "verdict"),
    [
        (Response(status_code=200), Verdict.DELIVERED),
        (Response(status_code=204), Verdict.DELIVERED),
        (Response(status_code=500), Verdict.RETRY),
        (Response(status_code=503), Verdict.RETRY),
        (Response(status_code=408), Verdict.RETRY),
        (Response(status_code=429), Verdict.RETRY),
        (Response(error="no answer within 10 s"), Verdict.RETRY),  # timeout
        (Response(error="ConnectionError: refused"), Verdict.RETRY),
        (Response(status_code=400), Verdict.FAILED),
        (Response(status_code=401), Verdict.FAILED),
        (Response(status_code=404), Verdict.FAILED),
        (Response(status_code=410), Verdict.FAILED),
        (Response(status_code=301), Verdict.FAILED),  # redirects are not followed
        (Response(error="not sent: 10.0.0.1 is not a public address", refused=True), Verdict.FAILED),
    ],
)
def test_what_is_delivered_retried_or_refused(response, verdict):
    assert POLICY.verdict(1, response) == verdict


def test_retryable_failures_give_up_at_the_last_attempt():
    assert POLICY.verdict(4, Response(status_code=500)) == Verdict.RETRY
    assert POLICY.verdict(5, Response(status_code=500)) == Verdict.FAILED
    assert POLICY.verdict(5, Response(status_code=200)) == Verdict.DELIVERED


def test_backoff_doubles_up_to_the_cap():
    assert [POLICY.delay_s(n) for n in range(1, 8)] == [2, 4, 8, 16, 32, 60, 60]


def test_retry_after_lengthens_the_wait_but_never_past_the_cap():
    assert POLICY.delay_s(1, retry_after_s=30) == 30
    assert POLICY.delay_s(3, retry_after_s=1) == 8  # never shorter than the backoff
    assert POLICY.delay_s(1, retry_after_s=3600) == 60


def test_retry_after_header_parsing():
    assert _retry_after("120") == 120
    assert _retry_after(None) is None
    assert _retry_after("soon") is None
    assert _retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0  # a date in the past: now


def test_policy_comes_from_settings():
    settings = Settings(webhook_max_attempts=3, webhook_backoff_s=1, webhook_backoff_max_s=5)
    assert RetryPolicy.from_settings(settings) == RetryPolicy(3, 1.0, 5.0)
