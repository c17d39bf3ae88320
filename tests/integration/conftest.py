"""One local stack per test session, on its own ports and state folder, so a developer's running
`omtx dev up` stack is never touched. Tests isolate themselves by batch id and by creating their
own pull subscriptions."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from google.cloud import pubsub_v1

from omtx.devstack.stack import Stack
from omtx.gcp.clients import reset_clients
from omtx.settings import Settings, get_settings

TEST_BASE_PORT = int(os.environ.get("OMTX_TEST_BASE_PORT", "18700"))


@pytest.fixture(scope="session")
def stack_env(tmp_path_factory) -> dict[str, str]:
    state = tmp_path_factory.mktemp("stack")
    # Batches above 40 ligands fan out in ranges of 20, so tests exercise both submit paths.
    return {
        "OMTX_BASE_PORT": str(TEST_BASE_PORT),
        "OMTX_STATE_DIR": str(state),
        "OMTX_FANOUT_FROM": "40",
        "OMTX_FANOUT_RANGE": "20",
        # rfantibody jobs run its CPU stand-in (no GPU tools here): see omtx/predictors/rfantibody/standin.py
        "OMTX_RFANTIBODY_STANDIN": "1",
    }


@pytest.fixture(scope="session")
def stack(stack_env) -> Iterator[Stack]:
    os.environ.update(stack_env)
    get_settings.cache_clear()
    running = Stack(Settings())
    seconds = running.up()
    print(f"\nlocal stack up in {seconds:.1f} s (base port {TEST_BASE_PORT})")
    yield running
    running.down(snapshot=False)  # its state folder is temporary


@pytest.fixture
def settings(stack, stack_env) -> Settings:
    # The autouse environ fixture restores os.environ after each test; re-apply the stack's.
    os.environ.update(stack_env | stack.settings.emulator_env())
    get_settings.cache_clear()
    reset_clients()
    return get_settings()


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
