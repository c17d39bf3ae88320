"""Webhook deliveries: aggregate logs each event once and publishes it (`enqueue`); the complete
service makes one attempt per message (`deliver`); the reconciler's sweep re-publishes every
pending delivery whose next attempt is due (`redrive_due`).

At least once, without trusting any message to survive: the delivery log is the source of truth,
and a pending delivery is found by the sweep whatever became of its messages (a failed attempt, a
lost or dead-lettered message, a publish that failed after the log entry was written). Every
attempt is claimed with an update-time precondition, so duplicate messages never send twice at
once. Nothing waits on a receiver anywhere but in its own push request, which is always
acknowledged: retries follow the backoff in the log, not Pub/Sub's redelivery.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum

import urllib3

from omtx import __version__, tracing
from omtx.domain import Batch, Counts, utcnow
from omtx.errors import PermanentError
from omtx.events import BatchDone, WebhookDue
from omtx.gcp import pubsub
from omtx.gcp.firestore import webhooks as webhook_store
from omtx.settings import Settings, get_settings
from omtx.webhook_models import DeliveryState, WebhookAttempt, WebhookDelivery, WebhookEvent
from omtx.webhooks import keys, transport
from omtx.webhooks.policy import Response, RetryPolicy, Verdict
from omtx.webhooks.signing import HEADER, sign
from omtx.webhooks.urls import Address, checked_address, url_problem

log = logging.getLogger(__name__)
USER_AGENT = f"omtx-hub-webhooks/{__version__}"
# A claim outlives the slowest attempt (connect, send, wait for the answer) with room to spare:
# it is taken over only when the attempt's process died.
LEASE_MARGIN_S = 30
REDRIVE_LIMIT = 500  # deliveries re-published per reconciler pass; the next pass takes the rest


# --- what is sent ---------------------------------------------------------------------------------


def milestone_event(batch: Batch, percent: int, counts: Counts) -> WebhookEvent:
    return WebhookEvent(
        id=f"{batch.batch_id}/milestone-{percent}",
        type="batch.milestone",
        batch_id=batch.batch_id,
        created_at=utcnow(),
        data={
            "percent": percent,
            "total": counts.total,
            "done": counts.done,
            "succeeded": counts.succeeded,
            "failed": counts.failed,
        },
    )


def completion_event(batch: Batch, done: BatchDone) -> WebhookEvent:
    """The batch-done event itself, with its id (one per revision: see BatchDone.stable_id)."""
    return WebhookEvent(
        id=done.event_id,
        type="batch.done",
        batch_id=done.batch_id,
        created_at=done.finished_at,
        data=done.model_dump(mode="json"),
    )


def enqueue(batch: Batch, event: WebhookEvent) -> None:
    """Log the delivery of `event` (once: the log entry is keyed by the event id) and publish it
    for an attempt, unless it is already settled. Safe to repeat, and repeated by whoever
    cannot tell whether an earlier call published."""
    if batch.webhook_url is None:
        return
    delivery = WebhookDelivery(
        delivery_id=event.id.removeprefix(f"{batch.batch_id}/"),
        event_id=event.id,
        event_type=event.type,
        url=batch.webhook_url,
        body=event.model_dump_json(),
        next_attempt_at=utcnow(),
        traceparent=tracing.current_traceparent(),
    )
    stored = webhook_store.ensure(batch.batch_id, delivery)
    if stored.state == DeliveryState.PENDING:
        due = WebhookDue(batch_id=batch.batch_id, delivery_id=stored.delivery_id)
        pubsub.publish(get_settings().topic_webhooks, [due])


def redrive_due(limit: int = REDRIVE_LIMIT) -> int:
    """Publish every pending delivery whose next attempt is due, each in its batch's trace; the
    reconciler calls this on every pass. Returns how many were published."""
    topic = get_settings().topic_webhooks
    due = webhook_store.due(utcnow(), limit)
    for batch_id, delivery in due:
        with tracing.continued(delivery.traceparent):
            pubsub.publish(topic, [WebhookDue(batch_id=batch_id, delivery_id=delivery.delivery_id)])
    return len(due)


# --- attempts -------------------------------------------------------------------------------------


class Outcome(StrEnum):
    DELIVERED = "delivered"
    FAILED = "failed"
    RETRY = "retry"  # attempted, failed; the sweep re-drives it once the backoff has passed
    WAITING = "waiting"  # not attempted: not due yet, or another message's attempt holds it
    SETTLED = "settled"  # delivered or failed before: nothing to do


def deliver(due: WebhookDue) -> Outcome:
    """One attempt, if the delivery is pending, due, and not held by another attempt. The message
    is acknowledged whatever happens: a retry comes from the sweep."""
    settings = get_settings()
    found = webhook_store.get(due.batch_id, due.delivery_id)
    if found is None:
        raise PermanentError(f"webhook delivery {due.delivery_id} of batch {due.batch_id} does not exist")
    delivery, token = found
    if delivery.state != DeliveryState.PENDING:
        return Outcome.SETTLED
    now = utcnow()
    if any(t is not None and t > now for t in (delivery.next_attempt_at, delivery.lease_until)):
        return Outcome.WAITING
    lease = now + timedelta(seconds=3 * settings.webhook_timeout_s + LEASE_MARGIN_S)
    claim = webhook_store.update(due.batch_id, due.delivery_id, {"lease_until": lease}, token)
    if claim is None:
        return Outcome.WAITING
    number = len(delivery.attempts) + 1
    clock = time.perf_counter()
    response = send(due.batch_id, delivery, number, settings)
    attempt = WebhookAttempt(
        number=number,
        at=now,
        duration_ms=round((time.perf_counter() - clock) * 1000),
        status_code=response.status_code,
        error=response.error,
    )
    policy = RetryPolicy.from_settings(settings)
    verdict = policy.verdict(number, response)
    changes = _settle(delivery, attempt, verdict, response, policy)
    if webhook_store.update(due.batch_id, due.delivery_id, changes, claim) is None:
        # Our claim was taken over (this attempt outlived its lease): keep the attempt in the
        # log and leave the state to the attempt that holds the claim now.
        webhook_store.append_attempt(due.batch_id, due.delivery_id, attempt)
        return Outcome.WAITING
    level = logging.INFO if verdict == Verdict.DELIVERED else logging.WARNING
    log.log(
        level,
        "webhook %s attempt %d: %s (%s)",
        delivery.event_id,
        number,
        verdict.value,
        response.status_code or response.error,
        extra={"event_id": delivery.event_id, "attempt": number, "status_code": response.status_code},
    )
    return Outcome(verdict.value)


def _settle(
    delivery: WebhookDelivery, attempt: WebhookAttempt, verdict: Verdict, response: Response, policy: RetryPolicy
) -> dict[str, object]:
    """The delivery's changes after `attempt`; it releases the claim."""
    changes: dict[str, object] = {
        "attempts": [a.model_dump() for a in [*delivery.attempts, attempt]],
        "lease_until": None,
        "next_attempt_at": None,
    }
    if verdict == Verdict.DELIVERED:
        return changes | {"state": DeliveryState.DELIVERED.value, "delivered_at": utcnow()}
    if verdict == Verdict.RETRY:
        wait = policy.delay_s(attempt.number, response.retry_after_s)
        return changes | {"next_attempt_at": utcnow() + timedelta(seconds=wait)}
    reason = response.error or f"HTTP {response.status_code}"
    if attempt.number >= policy.max_attempts and not response.refused:
        reason = f"gave up after {attempt.number} attempts; last: {reason}"
    return changes | {"state": DeliveryState.FAILED.value, "error": reason}


def send(batch_id: str, delivery: WebhookDelivery, number: int, settings: Settings) -> Response:
    """One signed POST to the address checked just before. Redirects are not followed (a
    redirect could lead anywhere)."""
    problem = url_problem(delivery.url, "cloud") if settings.deployment == "cloud" else None
    address = checked_address(delivery.url, settings.deployment) if problem is None else Address(None, problem)
    if address.ip is None:
        # In the cloud a refusal is final; locally a name that does not resolve yet may later.
        return Response(error=f"not sent: {address.problem}", refused=settings.deployment == "cloud")
    body = delivery.body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        HEADER: sign(keys.secret_for(batch_id, settings), body, int(time.time())),
        "OMTX-Event-Id": delivery.event_id,
        "OMTX-Event-Type": delivery.event_type,
        "OMTX-Delivery-Attempt": str(number),
    }
    traceparent = tracing.current_traceparent()
    if traceparent:
        headers["traceparent"] = traceparent
    timeout = settings.webhook_timeout_s
    try:
        answer = transport.post(delivery.url, address.ip, body, headers, timeout)
    except urllib3.exceptions.NewConnectionError as exc:  # a subclass of the timeout error in urllib3 2
        return Response(error=f"ConnectionError: {exc}"[:500])
    except urllib3.exceptions.TimeoutError:
        return Response(error=f"no answer within {timeout:g} s")
    except urllib3.exceptions.HTTPError as exc:
        return Response(error=f"{type(exc).__name__}: {exc}"[:500])
    code = answer.status
    return Response(
        status_code=code,
        error=None if 200 <= code < 300 else f"HTTP {code} {answer.reason}",
        retry_after_s=_retry_after(answer.retry_after),
    )


def _retry_after(value: str | None) -> float | None:
    """Retry-After as seconds (it may be a number of seconds or an HTTP date)."""
    if value is None:
        return None
    if value.strip().isdecimal():
        return float(value)
    try:
        return max(0.0, (parsedate_to_datetime(value) - utcnow()).total_seconds())
    except (TypeError, ValueError):
        return None
