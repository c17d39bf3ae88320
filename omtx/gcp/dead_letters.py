"""Dead-lettered messages: find the dead-letter subscriptions of a project, read what landed on
them without losing it, and replay it to the topic it came from.

A message reaches a dead-letter topic after `max_delivery_attempts` failed pushes (a service down
longer than the retry policy lasts, a bug that crashes its handler). Pub/Sub keeps it on the
dead-letter topic's pull subscription (a week in production, see infra/) with attributes saying
where it came from (`CloudPubSubDeadLetterSource*`). Reading leases messages and releases them
afterwards (a negative acknowledgement), so listing never consumes; a replayed message is
acknowledged only once its copy is published. The subscriptions are found from their dead-letter
policies, so this works the same on the emulator and on Pub/Sub."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import pubsub_v1  # type: ignore[attr-defined]  # untyped package

from omtx.gcp.clients import publisher_client

SOURCE_PREFIX = "CloudPubSubDeadLetterSource"
REPLAYED_FROM = "replayed_from"  # attribute on a replayed copy: the dead letter it came from
PULL_BATCH = 100


@dataclass(frozen=True)
class DeadLetterQueue:
    subscription: str  # the pull subscription on the dead-letter topic (full path)
    topic: str  # the dead-letter topic (full path)
    sources: dict[str, str]  # each subscription that dead-letters here → its topic (full paths)

    def matches(self, name: str) -> bool:
        """`name` (short or full) is this queue's topic or subscription, or one of its sources'."""
        return any(_named(name, n) for n in (self.subscription, self.topic, *self.sources, *self.sources.values()))


@dataclass(frozen=True)
class DeadLetter:
    queue: DeadLetterQueue
    message_id: str  # on the dead-letter topic
    ack_id: str
    data: bytes
    attributes: dict[str, str]  # the original message's, without Pub/Sub's dead-letter attributes
    source_subscription: str | None
    delivery_attempts: int | None
    published_at: datetime | None  # when the original was published
    dead_lettered_at: datetime

    @property
    def source_topic(self) -> str | None:
        if self.source_subscription in self.queue.sources:
            return self.queue.sources[self.source_subscription]
        if len(set(self.queue.sources.values())) == 1:  # published here by hand: one possible origin
            return next(iter(self.queue.sources.values()))
        return None

    def selected_by(self, name: str | None) -> bool:
        """Whether `name` (as in --topic) selects this letter: a dead-letter topic shared by
        several subscriptions also holds other topics' letters."""
        if name is None:
            return True
        if any(_named(name, t) for t in self.queue.sources.values()):
            return self.source_topic is not None and _named(name, self.source_topic)
        if any(_named(name, s) for s in self.queue.sources):
            return self.source_subscription is not None and _named(name, self.source_subscription)
        return self.queue.matches(name)

    def body(self, width: int = 80) -> str:
        text = self.data.decode(errors="replace").replace("\n", " ")
        return text if len(text) <= width else text[: width - 1] + "…"

    def as_dict(self) -> dict[str, Any]:
        return {
            "queue": _short(self.queue.subscription),
            "message_id": self.message_id,
            "source_topic": _short(self.source_topic),
            "source_subscription": _short(self.source_subscription),
            "batch_id": self.attributes.get("batch_id"),
            "event_type": self.attributes.get("event_type"),
            "attributes": self.attributes,
            "delivery_attempts": self.delivery_attempts,
            "published_at": self.published_at.isoformat() if self.published_at else None,
            "dead_lettered_at": self.dead_lettered_at.isoformat(),
            "body": self.body(),
        }


def _named(name: str, path: str) -> bool:
    return name in (path, path.rsplit("/", 1)[-1])


def _short(path: str | None) -> str | None:
    return path.rsplit("/", 1)[-1] if path else None


def find_queues(project: str, name: str | None = None) -> list[DeadLetterQueue]:
    """Every dead-letter pull subscription of the project (those of `name` only: a topic, a
    dead-letter topic or a subscription, short or full name)."""
    subscriber = pubsub_v1.SubscriberClient()
    publisher = publisher_client()
    sources: dict[str, dict[str, str]] = {}
    for sub in subscriber.list_subscriptions(request={"project": f"projects/{project}"}):
        if sub.dead_letter_policy.dead_letter_topic:
            sources.setdefault(sub.dead_letter_policy.dead_letter_topic, {})[sub.name] = sub.topic
    queues = [
        DeadLetterQueue(subscription, topic, by_subscription)
        for topic, by_subscription in sorted(sources.items())
        for subscription in publisher.list_topic_subscriptions(request={"topic": topic})
    ]
    return [q for q in queues if name is None or q.matches(name)]


def _letter(queue: DeadLetterQueue, received: Any) -> DeadLetter:
    message = received.message
    attributes = dict(message.attributes)
    source = attributes.get(f"{SOURCE_PREFIX}Subscription")
    project = attributes.get(f"{SOURCE_PREFIX}SubscriptionProject")
    count = attributes.get(f"{SOURCE_PREFIX}DeliveryCount")
    published = attributes.get(f"{SOURCE_PREFIX}TopicPublishTime")
    return DeadLetter(
        queue=queue,
        message_id=message.message_id,
        ack_id=received.ack_id,
        data=bytes(message.data),
        attributes={k: v for k, v in attributes.items() if not k.startswith(SOURCE_PREFIX)},
        source_subscription=f"projects/{project}/subscriptions/{source}" if source and project else source,
        delivery_attempts=int(count) if count and count.isdigit() else None,
        published_at=_timestamp(published),
        dead_lettered_at=message.publish_time,
    )


def _timestamp(text: str | None) -> datetime | None:
    if not text:
        return None
    with contextlib.suppress(ValueError):
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    return None


class Reader:
    """Leases every message of a queue while open; on close, whatever was not acknowledged is
    released at once (ack deadline 0), so it is still there for the next reader."""

    def __init__(self, queue: DeadLetterQueue, lease_s: int = 300, wait_s: float = 2.0) -> None:
        self.queue = queue
        self.lease_s = lease_s
        self.wait_s = wait_s
        self._subscriber = pubsub_v1.SubscriberClient()
        self._held: dict[str, DeadLetter] = {}  # ack id → letter

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def letters(self) -> list[DeadLetter]:
        """Pull until the queue has nothing more to give (what was pulled stays leased)."""
        while batch := self._pull():
            for received in batch:
                letter = _letter(self.queue, received)
                self._held[letter.ack_id] = letter
        # A message delivered twice (Pub/Sub's at-least-once) is shown once.
        unique: dict[str, DeadLetter] = {}
        for letter in self._held.values():
            unique.setdefault(letter.message_id, letter)
        return list(unique.values())

    def _pull(self) -> list[Any]:
        try:
            response = self._subscriber.pull(
                request={"subscription": self.queue.subscription, "max_messages": PULL_BATCH},
                timeout=self.wait_s,
                retry=None,
            )
        except (gexc.DeadlineExceeded, gexc.RetryError):
            return []  # nothing arrived within the wait: the queue is drained
        received = list(response.received_messages)
        if received:
            self._subscriber.modify_ack_deadline(
                request={
                    "subscription": self.queue.subscription,
                    "ack_ids": [r.ack_id for r in received],
                    "ack_deadline_seconds": self.lease_s,
                }
            )
        return received

    def acknowledge(self, letter: DeadLetter) -> None:
        """Remove one message (and its duplicate deliveries) from the queue."""
        ack_ids = [a for a, held in self._held.items() if held.message_id == letter.message_id]
        self._subscriber.acknowledge(request={"subscription": self.queue.subscription, "ack_ids": ack_ids})
        for ack_id in ack_ids:
            del self._held[ack_id]

    def release(self) -> None:
        if self._held:
            self._subscriber.modify_ack_deadline(
                request={
                    "subscription": self.queue.subscription,
                    "ack_ids": list(self._held),
                    "ack_deadline_seconds": 0,
                }
            )
            self._held.clear()


@dataclass(frozen=True)
class Replayed:
    letter: DeadLetter
    new_message_id: str | None
    error: str | None = None


def replay(reader: Reader, letters: Sequence[DeadLetter], timeout_s: float = 60.0) -> Iterator[Replayed]:
    """Publish each letter's data and attributes to its original topic; acknowledge it only once
    Pub/Sub has the copy. A letter whose publish fails stays on the queue."""
    publisher = publisher_client()
    for letter in letters:
        topic = letter.source_topic
        if topic is None:
            yield Replayed(letter, None, "its source subscription is unknown; cannot tell which topic to replay to")
            continue
        attributes = letter.attributes | {REPLAYED_FROM: f"{_short(reader.queue.subscription)}/{letter.message_id}"}
        try:
            new_id = publisher.publish(topic, letter.data, **attributes).result(timeout=timeout_s)
        except (gexc.GoogleAPICallError, TimeoutError) as exc:
            yield Replayed(letter, None, f"publishing to {_short(topic)} failed: {exc}")
            continue
        reader.acknowledge(letter)
        yield Replayed(letter, str(new_id))
