"""Topics, subscriptions, buckets and the Firestore trigger of the local stack, created through
the real client libraries and the emulators' own APIs. Every step is idempotent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests
from google.api_core import exceptions as gexc
from google.cloud import pubsub_v1  # type: ignore[attr-defined]  # untyped package
from google.protobuf import duration_pb2

from omtx.gcp.clients import publisher_client, storage_client
from omtx.settings import Settings

# push subscription → (topic, service that receives it, path; None: the topic's path, which
# functions-framework turns into the CloudEvent source)
# A drop of 100,000 rows takes minutes to validate: its push waits up to the 600 s maximum,
# so Pub/Sub does not redeliver it while it is still being handled.
LONG_ACK_DEADLINE = {"submit-bucket-events": 600}
PUSH_SUBSCRIPTIONS: dict[str, tuple[str, str, str | None]] = {
    "dispatch-submitted": ("topic_submitted", "dispatch", None),
    "complete-job-done": ("topic_job_done", "complete", None),
    "complete-webhooks": ("topic_webhooks", "complete", None),
    "submit-bucket-events": ("topic_bucket_events", "submit", "/pubsub/bucket-events"),
    # Campaign advancement submits the next stage's batch: submit's own work (see docs/api.md)
    "submit-batch-done": ("topic_batch_done", "submit", "/pubsub/batch-done"),
}
SHARD_TRIGGER_ID = "aggregate-shard-written"


def dead_letter_topic(subscription: str) -> str:
    return f"{subscription}-dead-letter"


def provision(settings: Settings, push_port: Callable[[str], int] | None = None) -> None:
    """`push_port(service)`: where push subscriptions deliver to a service (its own port unless a
    chaos proxy stands in front of it)."""
    push_port = push_port or settings.service_port
    publisher = publisher_client()
    subscriber = pubsub_v1.SubscriberClient()
    project = settings.project

    topics = [
        settings.topic_submitted,
        settings.topic_dispatched,
        settings.topic_job_done,
        settings.topic_batch_done,
        settings.topic_bucket_events,
        settings.topic_webhooks,
        settings.topic_campaign_done,
        *(dead_letter_topic(s) for s in PUSH_SUBSCRIPTIONS),
    ]
    for topic in topics:
        try:
            publisher.create_topic(name=publisher.topic_path(project, topic))
        except gexc.AlreadyExists:
            pass

    for name, (topic_field, service, path) in PUSH_SUBSCRIPTIONS.items():
        topic = getattr(settings, topic_field)
        dlt = dead_letter_topic(name)
        endpoint = f"http://{settings.host}:{push_port(service)}{path or f'/projects/{project}/topics/{topic}'}"
        _create_subscription(
            subscriber,
            {
                "name": subscriber.subscription_path(project, name),
                "topic": publisher.topic_path(project, topic),
                "push_config": {"push_endpoint": endpoint},
                "ack_deadline_seconds": LONG_ACK_DEADLINE.get(name, settings.push_ack_deadline_s),
                "retry_policy": {
                    "minimum_backoff": duration_pb2.Duration(seconds=settings.push_min_backoff_s),
                    "maximum_backoff": duration_pb2.Duration(seconds=settings.push_max_backoff_s),
                },
                "dead_letter_policy": {
                    "dead_letter_topic": publisher.topic_path(project, dlt),
                    "max_delivery_attempts": settings.max_delivery_attempts,
                },
            },
        )
        # A dead-letter topic without a subscription would drop what lands on it.
        _create_subscription(
            subscriber,
            {"name": subscriber.subscription_path(project, dlt), "topic": publisher.topic_path(project, dlt)},
        )

    for bucket in (settings.inputs_bucket, settings.results_bucket):
        try:
            storage_client().create_bucket(bucket)
        except gexc.Conflict:
            pass

    register_shard_trigger(settings)


def _create_subscription(subscriber: pubsub_v1.SubscriberClient, request: dict[str, object]) -> None:
    try:
        subscriber.create_subscription(request=request)
    except gexc.AlreadyExists:
        pass


def register_shard_trigger(settings: Settings) -> None:
    """Counter-shard writes → aggregate, as Eventarc's `document.v1.written` CloudEvents. The
    emulator delivers them to the address it was started with (--functions_emulator)."""
    url = (
        f"http://{settings.host}:{settings.firestore_port}/emulator/v1/projects/{settings.project}"
        f"/eventarcTrigger?eventarcTriggerId={SHARD_TRIGGER_ID}"
    )
    body: dict[str, Any] = {
        "eventType": "google.cloud.firestore.document.v1.written",
        "database": "(default)",
        "namespace": "(default)",
        "document": {"value": "batches/{batchId}/shards/{shardId}", "matchType": "PATH_PATTERN"},
    }
    # The emulator answers late on a loaded machine (several stacks on 2 cores): 10 s failed starts
    response = requests.post(url, json=body, timeout=60)
    response.raise_for_status()
