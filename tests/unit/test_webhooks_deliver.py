"""The delivery state machine against an in-memory delivery log and a real HTTP receiver on
this machine (a thread): what is sent, when it is retried, and that duplicates never send twice."""

import json
import socket
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from omtx import tracing
from omtx.domain import Batch, BatchStatus, Counts, ProteinIn, utcnow
from omtx.errors import PermanentError
from omtx.events import BatchDone, WebhookDue
from omtx.settings import get_settings
from omtx.webhook_models import DeliveryState, WebhookDelivery
from omtx.webhooks import deliver as webhooks
from omtx.webhooks.keys import LOCAL_SIGNING_KEY
from omtx.webhooks.signing import batch_secret, verify_signature


class FakeLog:
    """batches/{batch}/webhooks/{id} with update-time tokens, as webhook_store keeps them."""

    def __init__(self):
        self.docs: dict[tuple[str, str], tuple[dict, int]] = {}

    def ensure(self, batch_id, delivery):
        key = (batch_id, delivery.delivery_id)
        if key not in self.docs:
            self.docs[key] = (delivery.model_dump(), 1)
        return WebhookDelivery.model_validate(self.docs[key][0])

    def get(self, batch_id, delivery_id):
        if (batch_id, delivery_id) not in self.docs:
            return None
        data, version = self.docs[(batch_id, delivery_id)]
        return WebhookDelivery.model_validate(data), str(version)

    def update(self, batch_id, delivery_id, changes, token):
        data, version = self.docs[(batch_id, delivery_id)]
        if str(version) != token:
            return None
        self.docs[(batch_id, delivery_id)] = (data | dict(changes), version + 1)
        return str(version + 1)

    def append_attempt(self, batch_id, delivery_id, attempt):
        data, version = self.docs[(batch_id, delivery_id)]
        self.docs[(batch_id, delivery_id)] = (data | {"attempts": [*data["attempts"], attempt.model_dump()]}, version)

    def due(self, now, limit):
        pending = [
            (batch_id, WebhookDelivery.model_validate(data))
            for (batch_id, _), (data, _) in self.docs.items()
            if data["state"] == DeliveryState.PENDING and data["next_attempt_at"] <= now
        ]
        return pending[:limit]

    def delivery(self, batch_id, delivery_id) -> WebhookDelivery:
        return WebhookDelivery.model_validate(self.docs[(batch_id, delivery_id)][0])


class Receiver:
    def __init__(self, statuses):
        self.statuses = list(statuses)
        self.requests: list[tuple[dict, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "7")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_log(monkeypatch):
    log = FakeLog()
    for name in ("ensure", "get", "update", "append_attempt", "due"):
        monkeypatch.setattr(f"omtx.gcp.firestore.webhooks.{name}", getattr(log, name))
    return log


@pytest.fixture
def published(monkeypatch):
    sent = []

    def publish(topic, events):
        sent.extend((topic, e, tracing.current_traceparent()) for e in events)

    monkeypatch.setattr("omtx.gcp.pubsub.publish", publish)
    return sent


@pytest.fixture
def receiver():
    made = []

    def make(*statuses):
        made.append(Receiver(statuses))
        return made[-1]

    yield make
    for r in made:
        r.close()


@pytest.fixture(autouse=True)
def fast_policy(monkeypatch):
    monkeypatch.setenv("OMTX_WEBHOOK_BACKOFF_S", "0.2")
    monkeypatch.setenv("OMTX_WEBHOOK_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("OMTX_WEBHOOK_TIMEOUT_S", "2")
    get_settings.cache_clear()


def batch(url: str | None) -> Batch:
    return Batch(
        batch_id="bfeed",
        tenant="t",
        model="rdkit_props",
        model_version="1",
        protein=ProteinIn(sequence="MENFQK"),
        total=4,
        shard_count=1,
        input_uri="gs://i/b",
        webhook_url=url,
    )


def queued(fake_log, published, url) -> WebhookDue:
    webhooks.enqueue(batch(url), webhooks.milestone_event(batch(url), 50, Counts(total=4, succeeded=2)))
    return published[-1][1]


def test_enqueue_logs_once_and_publishes_each_time_while_pending(fake_log, published):
    b = batch("http://127.0.0.1:9/hook")
    event = webhooks.milestone_event(b, 25, Counts(total=4, succeeded=1))
    webhooks.enqueue(b, event)
    webhooks.enqueue(b, event.model_copy(update={"data": {"percent": 25, "done": 2}}))
    assert [(t, e.delivery_id) for t, e, _ in published] == [("webhooks", "milestone-25")] * 2
    stored = fake_log.delivery("bfeed", "milestone-25")
    assert json.loads(stored.body)["data"]["done"] == 1  # the first writer's body is kept
    assert stored.event_id == "bfeed/milestone-25"


def test_a_batch_without_webhook_enqueues_nothing(fake_log, published):
    webhooks.enqueue(batch(None), webhooks.milestone_event(batch(None), 10, Counts(total=4, succeeded=1)))
    assert published == [] and fake_log.docs == {}


def test_a_settled_delivery_is_not_published_again(fake_log, published, receiver):
    due = queued(fake_log, published, receiver(200).url)
    assert webhooks.deliver(due) == webhooks.Outcome.DELIVERED
    queued(fake_log, published, receiver().url)
    assert len(published) == 1


def test_delivered_with_a_valid_signature_and_headers(fake_log, published, receiver):
    r = receiver(200)
    due = queued(fake_log, published, r.url)
    assert webhooks.deliver(due) == webhooks.Outcome.DELIVERED
    headers, body = r.requests[0]
    verify_signature(batch_secret(LOCAL_SIGNING_KEY, "bfeed"), headers["OMTX-Signature"], body, time.time(), 60)
    assert headers["OMTX-Event-Id"] == "bfeed/milestone-50"
    assert headers["OMTX-Event-Type"] == "batch.milestone"
    assert headers["OMTX-Delivery-Attempt"] == "1"
    assert json.loads(body)["data"] == {"percent": 50, "total": 4, "done": 2, "succeeded": 2, "failed": 0}
    logged = fake_log.delivery("bfeed", "milestone-50")
    assert logged.state == DeliveryState.DELIVERED and logged.delivered_at is not None
    assert [(a.number, a.status_code, a.error) for a in logged.attempts] == [(1, 200, None)]
    assert logged.lease_until is None
    assert webhooks.deliver(due) == webhooks.Outcome.SETTLED  # a duplicate message sends nothing
    assert len(r.requests) == 1


def test_the_connection_goes_to_the_address_resolved_once(fake_log, published, receiver, monkeypatch):
    """A name that re-resolves elsewhere after the check (DNS rebinding) is never looked up
    again: the POST reaches the checked address, with the URL's host in the Host header."""
    r = receiver(200)
    port = r.server.server_port
    answers = iter([[(2, 1, 6, "", ("127.0.0.1", 0))], [(2, 1, 6, "", ("10.255.255.1", 0))]])
    lookups = []
    system_resolve = socket.getaddrinfo

    def resolve(host, *args, **kwargs):
        if host != "hooks.test":  # the IP literal the connection is made to
            return system_resolve(host, *args, **kwargs)
        lookups.append(host)
        return next(answers)

    due = queued(fake_log, published, f"http://hooks.test:{port}/hook")
    monkeypatch.setattr("socket.getaddrinfo", resolve)
    assert webhooks.deliver(due) == webhooks.Outcome.DELIVERED
    assert lookups == ["hooks.test"]
    assert r.requests[0][0]["Host"] == f"hooks.test:{port}"


def test_500_then_200_waits_for_the_backoff_and_retries(fake_log, published, receiver):
    r = receiver(500, 200)
    due = queued(fake_log, published, r.url)
    assert webhooks.deliver(due) == webhooks.Outcome.RETRY
    first = fake_log.delivery("bfeed", "milestone-50")
    assert first.state == DeliveryState.PENDING and first.attempts[0].status_code == 500
    assert first.next_attempt_at is not None and first.next_attempt_at > utcnow()
    assert webhooks.deliver(due) == webhooks.Outcome.WAITING  # redelivered too early: not sent
    assert len(r.requests) == 1
    time.sleep(0.25)
    assert webhooks.deliver(due) == webhooks.Outcome.DELIVERED
    logged = fake_log.delivery("bfeed", "milestone-50")
    assert [a.status_code for a in logged.attempts] == [500, 200]
    assert [h["OMTX-Delivery-Attempt"] for h, _ in r.requests] == ["1", "2"]
    assert r.requests[0][1] == r.requests[1][1]  # the same bytes, signed anew


def test_429_honours_retry_after(fake_log, published, receiver):
    due = queued(fake_log, published, receiver(429).url)
    assert webhooks.deliver(due) == webhooks.Outcome.RETRY
    wait = fake_log.delivery("bfeed", "milestone-50").next_attempt_at - utcnow()
    assert timedelta(seconds=6) < wait <= timedelta(seconds=7)


def test_a_4xx_fails_at_once_with_the_reason(fake_log, published, receiver):
    due = queued(fake_log, published, receiver(404).url)
    assert webhooks.deliver(due) == webhooks.Outcome.FAILED
    logged = fake_log.delivery("bfeed", "milestone-50")
    assert logged.state == DeliveryState.FAILED and logged.error == "HTTP 404 Not Found"


def test_a_dead_receiver_is_retried_then_given_up_with_every_attempt_logged(fake_log, published, receiver):
    dead = receiver()
    url = dead.url
    dead.close()
    due = queued(fake_log, published, url)
    outcomes = []
    for _ in range(3):
        outcomes.append(webhooks.deliver(due))
        time.sleep(0.85)  # past backoffs of 0.2 and 0.4 s
    assert outcomes == [webhooks.Outcome.RETRY, webhooks.Outcome.RETRY, webhooks.Outcome.FAILED]
    logged = fake_log.delivery("bfeed", "milestone-50")
    assert [a.status_code for a in logged.attempts] == [None, None, None]
    assert all("ConnectionError" in (a.error or "") for a in logged.attempts)
    assert logged.error.startswith("gave up after 3 attempts; last: ConnectionError")


def test_an_attempt_in_flight_holds_off_a_duplicate(fake_log, published, receiver):
    r = receiver(200)
    due = queued(fake_log, published, r.url)
    _, token = fake_log.get("bfeed", "milestone-50")
    fake_log.update("bfeed", "milestone-50", {"lease_until": utcnow() + timedelta(seconds=30)}, token)
    assert webhooks.deliver(due) == webhooks.Outcome.WAITING
    assert r.requests == []


def test_an_attempt_that_lost_its_claim_still_logs_itself(fake_log, published, receiver, monkeypatch):
    r = receiver(200)
    due = queued(fake_log, published, r.url)
    real_send = webhooks.send

    def send_then_taken_over(*args):
        response = real_send(*args)
        _, token = fake_log.get("bfeed", "milestone-50")
        fake_log.update("bfeed", "milestone-50", {"lease_until": utcnow()}, token)  # another attempt took over
        return response

    monkeypatch.setattr(webhooks, "send", send_then_taken_over)
    assert webhooks.deliver(due) == webhooks.Outcome.WAITING
    logged = fake_log.delivery("bfeed", "milestone-50")
    assert logged.state == DeliveryState.PENDING and [a.status_code for a in logged.attempts] == [200]


def test_an_unknown_delivery_is_a_permanent_error(fake_log):
    with pytest.raises(PermanentError):
        webhooks.deliver(WebhookDue(batch_id="bfeed", delivery_id="nope"))


def test_cloud_mode_refuses_a_private_address_without_sending(fake_log, published, receiver, monkeypatch):
    r = receiver(200)
    due = queued(fake_log, published, r.url)
    monkeypatch.setenv("OMTX_DEPLOYMENT", "cloud")
    monkeypatch.setenv("OMTX_WEBHOOK_SIGNING_KEY", "k")
    get_settings.cache_clear()
    assert webhooks.deliver(due) == webhooks.Outcome.FAILED
    assert r.requests == []
    assert "https only" in fake_log.delivery("bfeed", "milestone-50").error


def test_the_completion_event_is_batch_done_with_an_id_per_revision():
    done = BatchDone(
        batch_id="bfeed",
        event_id=BatchDone.stable_id("bfeed"),
        tenant="t",
        status=BatchStatus.COMPLETED,
        model="rdkit_props",
        total=4,
        succeeded=4,
        failed=0,
        results={"csv": "gs://r/b.csv"},
        finished_at=utcnow(),
    )
    event = webhooks.completion_event(batch(None), done)
    assert event.id == "bfeed/batch-done" and event.type == "batch.done"
    assert event.data["status"] == "completed" and event.data["results"] == {"csv": "gs://r/b.csv"}
    # a batch finalised again after a retry of its failed jobs finishes under a new id
    redone = done.model_copy(update={"event_id": BatchDone.stable_id("bfeed", 2), "revision": 2})
    again = webhooks.completion_event(batch(None).model_copy(update={"revision": 2}), redone)
    assert again.id == "bfeed/batch-done-r2" and again.data["revision"] == 2


def test_the_sweep_redrives_only_pending_deliveries_that_are_due_in_their_batch_trace(fake_log, published, receiver):
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    failing, fine = receiver(500), receiver(200)
    with tracing.continued(traceparent):
        retry = queued(fake_log, published, failing.url)
        b = batch(fine.url)
        webhooks.enqueue(b, webhooks.milestone_event(b, 10, Counts(total=4, succeeded=1)))
    done = published[-1][1]
    assert webhooks.deliver(retry) == webhooks.Outcome.RETRY
    assert webhooks.deliver(done) == webhooks.Outcome.DELIVERED
    published.clear()
    assert webhooks.redrive_due() == 0  # the failed one is not due yet, the other is settled
    time.sleep(0.25)
    assert webhooks.redrive_due() == 1
    assert [(e.delivery_id, tp) for _, e, tp in published] == [("milestone-50", traceparent)]
