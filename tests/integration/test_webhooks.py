"""Webhooks of real batches on the local stack: a receiver on this machine (a thread on a free
port) gets every milestone and the completion, signed, and the delivery log on the batch shows
each attempt; a receiver that fails first is retried; a dead one holds nothing up."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from omtx.gcp.firestore import batches as batch_store
from omtx.gcp.firestore import webhooks as webhook_store
from omtx.webhook_models import DeliveryState
from omtx.webhooks.keys import secret_for
from omtx.webhooks.signing import HEADER, verify_signature
from tests.integration.conftest import wait_for
from tests.integration.helpers import batch_request

pytestmark = pytest.mark.integration
EVENTS = 7  # milestones 10, 25, 50, 75, 90, 100 % and the completion


class Receiver:
    """Answers `fail_first` for each event's first request, 200 afterwards."""

    def __init__(self, fail_first: int | None = None) -> None:
        self.received: list[tuple[dict[str, str], bytes, float]] = []
        self.seen: Counter[str] = Counter()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body, time.time()))
                event_id = self.headers["OMTX-Event-Id"]
                receiver.seen[event_id] += 1
                status = fail_first if fail_first and receiver.seen[event_id] == 1 else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/omtx-hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made: list[Receiver] = []

    def make(fail_first: int | None = None) -> Receiver:
        made.append(Receiver(fail_first))
        return made[-1]

    yield make
    for r in made:
        r.close()


def submit(settings, n: int, url: str) -> str:
    response = requests.post(f"{settings.api_base_url}/v1/batches", json=batch_request(n, webhook_url=url), timeout=30)
    assert response.status_code == 202, response.text
    return response.json()["batch_id"]


def settled(batch_id: str) -> list:
    log = webhook_store.list_deliveries(batch_id)
    return log if len(log) == EVENTS and all(d.state != DeliveryState.PENDING for d in log) else []


def test_milestones_and_completion_arrive_signed_and_logged(settings, receiver):
    r = receiver()
    batch_id = submit(settings, 12, r.url)
    log = wait_for(lambda: settled(batch_id), timeout_s=120)
    secret = secret_for(batch_id, settings)
    events = {}
    for headers, body, at in r.received:
        verify_signature(secret, headers[HEADER], body, now=at, tolerance_s=60)
        event = json.loads(body)
        assert event["id"] == headers["OMTX-Event-Id"] and event["batch_id"] == batch_id
        events[event["id"]] = event
    milestones = [f"{batch_id}/milestone-{p}" for p in (10, 25, 50, 75, 90, 100)]
    assert sorted(events) == sorted([*milestones, f"{batch_id}/batch-done"])
    assert len(r.received) == EVENTS  # each sent once
    for percent, event_id in zip((10, 25, 50, 75, 90, 100), milestones, strict=True):
        data = events[event_id]["data"]
        assert data["percent"] == percent and data["total"] == 12 and data["done"] >= percent * 12 / 100
    done = events[f"{batch_id}/batch-done"]
    assert done["type"] == "batch.done" and done["data"]["status"] == "completed"
    assert done["data"]["succeeded"] + done["data"]["failed"] == 12 and "csv" in done["data"]["results"]
    assert batch_store.get_batch(batch_id).status.is_final
    for delivery in log:
        assert delivery.state == DeliveryState.DELIVERED and delivery.url == r.url
        assert [(a.number, a.status_code) for a in delivery.attempts] == [(1, 200)]


def test_a_receiver_that_fails_first_is_retried_with_backoff(settings, receiver):
    r = receiver(fail_first=500)
    batch_id = submit(settings, 4, r.url)
    log = wait_for(lambda: settled(batch_id), timeout_s=120)
    secret = secret_for(batch_id, settings)
    for delivery in log:
        assert delivery.state == DeliveryState.DELIVERED
        assert [a.status_code for a in delivery.attempts] == [500, 200]
        first, second = delivery.attempts
        assert (second.at - first.at).total_seconds() >= settings.webhook_backoff_s
    by_event: dict[str, list[tuple[dict[str, str], bytes, float]]] = {}
    for headers, body, at in r.received:
        verify_signature(secret, headers[HEADER], body, now=at, tolerance_s=60)
        by_event.setdefault(headers["OMTX-Event-Id"], []).append((headers, body, at))
    assert len(by_event) == EVENTS
    for tries in by_event.values():
        assert [h["OMTX-Delivery-Attempt"] for h, _, _ in tries] == ["1", "2"]
        assert tries[0][1] == tries[1][1]  # the same body, signed again


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_dead_receiver_does_not_hold_up_the_batch(settings):
    batch_id = submit(settings, 4, f"http://127.0.0.1:{free_port()}/nobody-listens")
    wait_for(lambda: batch_store.get_batch(batch_id).status.is_final, timeout_s=90)

    def completion_attempted():
        log = {d.delivery_id: d for d in webhook_store.list_deliveries(batch_id)}
        done = log.get("batch-done")
        return done if done is not None and done.attempts else None

    done = wait_for(completion_attempted, timeout_s=60)
    assert done.state == DeliveryState.PENDING and done.next_attempt_at is not None
    assert done.attempts[0].status_code is None and "ConnectionError" in done.attempts[0].error
