"""How many messages wait on each dead-letter subscription, for the operator status.

On Pub/Sub the figure is Cloud Monitoring's `subscription/num_undelivered_messages`: read-only,
one request for every queue, sampled each minute (so up to a few minutes old). The emulator has
no Monitoring, so there the queues are peeked: pulled until empty and released at once (ack
deadline 0), which counts every message without consuming one; while a peek holds them (a few
milliseconds) a replaying reader would not see them."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, Literal

from google.api_core import exceptions as gexc
from google.cloud import pubsub_v1  # type: ignore[attr-defined]  # untyped package
from pydantic import BaseModel

from omtx.domain import utcnow
from omtx.gcp.dead_letters import find_queues

METRIC = "pubsub.googleapis.com/subscription/num_undelivered_messages"
MONITORING_URL = "https://monitoring.googleapis.com/v3/projects/{project}/timeSeries"
PEEK_LIMIT = 1_000  # a queue holding more is reported as "at least" this many
PULL_BATCH = 500
PULL_WAIT_S = 1.0


class DeadLetterCounts(BaseModel):
    source: Literal["peek", "monitoring"]
    counts: dict[str, int]  # dead-letter subscription (short name) → messages waiting
    at_least: list[str] = []  # queues whose count is a lower bound (the peek stopped at PEEK_LIMIT)


def dead_letter_counts(project: str) -> DeadLetterCounts:
    names = [q.subscription for q in find_queues(project)]
    if os.environ.get("PUBSUB_EMULATOR_HOST"):
        return _peek(names)
    short = [_short(n) for n in names]
    return monitoring_counts(short, _monitoring_series(project, short) if short else {})


def _short(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _peek(subscriptions: list[str]) -> DeadLetterCounts:
    subscriber = pubsub_v1.SubscriberClient()
    # An empty queue answers a pull only when the wait ends: the queues are peeked together.
    with ThreadPoolExecutor(max_workers=max(1, len(subscriptions))) as pool:
        seen = dict(zip(subscriptions, pool.map(lambda s: _peek_one(subscriber, s), subscriptions), strict=True))
    return DeadLetterCounts(
        source="peek",
        counts={_short(s): n for s, n in seen.items()},
        at_least=[_short(s) for s, n in seen.items() if n >= PEEK_LIMIT],
    )


def _peek_one(subscriber: Any, subscription: str) -> int:
    seen: set[str] = set()
    ack_ids: list[str] = []
    try:
        while len(seen) < PEEK_LIMIT:
            response = subscriber.pull(
                request={"subscription": subscription, "max_messages": PULL_BATCH}, timeout=PULL_WAIT_S, retry=None
            )
            if not response.received_messages:
                break
            ack_ids += [r.ack_id for r in response.received_messages]
            seen |= {r.message.message_id for r in response.received_messages}
    except gexc.DeadlineExceeded:
        pass  # nothing more arrived within the wait
    finally:
        if ack_ids:
            subscriber.modify_ack_deadline(
                request={"subscription": subscription, "ack_ids": ack_ids, "ack_deadline_seconds": 0}
            )
    return len(seen)


def _monitoring_series(project: str, subscriptions: list[str]) -> dict[str, Any]:
    import google.auth
    from google.auth.transport.requests import AuthorizedSession

    credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/monitoring.read"])
    now = utcnow()
    response = AuthorizedSession(credentials).get(
        MONITORING_URL.format(project=project),
        params={
            "filter": f'metric.type = "{METRIC}" AND resource.type = "pubsub_subscription" '
            f"AND resource.labels.subscription_id = one_of({', '.join(map(json.dumps, subscriptions))})",
            "interval.startTime": (now - timedelta(minutes=10)).isoformat(),
            "interval.endTime": now.isoformat(),
            "view": "FULL",
        },
        timeout=10,
    )
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def monitoring_counts(subscriptions: list[str], series: dict[str, Any]) -> DeadLetterCounts:
    """The newest point of each dead-letter subscription's series (Monitoring lists points
    newest first). A queue without a point in the window had nothing to report: 0."""
    latest: dict[str, int] = {}
    for item in series.get("timeSeries", []):
        name = item.get("resource", {}).get("labels", {}).get("subscription_id")
        points = item.get("points") or []
        if name in subscriptions and points:
            latest[name] = int(points[0].get("value", {}).get("int64Value", 0))
    return DeadLetterCounts(source="monitoring", counts={name: latest.get(name, 0) for name in subscriptions})
