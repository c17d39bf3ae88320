"""Integration helpers: pull subscriptions on the stack's topics and `wait_for`. Tests isolate
themselves by batch id and by creating their own pull subscriptions."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from google.cloud import pubsub_v1

from tests import stack as stack_fixtures

# The stack fixtures (stack_env, stack, settings) live in tests/stack.py and are registered once,
# in tests/conftest.py, so the integration and the browser tests share one stack per session.
TEST_BASE_PORT = stack_fixtures.TEST_BASE_PORT


@pytest.fixture
def subscribe(settings) -> Iterator[Callable[[str], Subscription]]:
    subscriber = pubsub_v1.SubscriberClient()
    created: list[str] = []

    def make(topic: str) -> Subscription:
        name = subscriber.subscription_path(settings.project, f"test-{topic}-{uuid.uuid4().hex[:8]}")
        subscriber.create_subscription(name=name, topic=f"projects/{settings.project}/topics/{topic}")
        created.append(name)
        return Subscription(subscriber, name)

    yield make
    for name in created:
        subscriber.delete_subscription(subscription=name)


class Subscription:
    def __init__(self, subscriber: pubsub_v1.SubscriberClient, name: str) -> None:
        self.subscriber = subscriber
        self.name = name

    def drain(self, window_s: float = 2.0) -> list[Any]:
        """Every message that arrives within the window (acknowledged)."""
        messages = []
        deadline = time.monotonic() + window_s
        while time.monotonic() < deadline:
            response = self.subscriber.pull(subscription=self.name, max_messages=500, timeout=5)
            if response.received_messages:
                self.subscriber.acknowledge(
                    subscription=self.name, ack_ids=[m.ack_id for m in response.received_messages]
                )
                messages.extend(m.message for m in response.received_messages)
        return messages


def wait_for(condition: Callable[[], Any], timeout_s: float = 60.0, interval_s: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        time.sleep(interval_s)
