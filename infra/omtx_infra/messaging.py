"""Pub/Sub: topics, push subscriptions into the services, dead-letter topics, and the bucket
notification that turns a CSV dropped under `drops/` into a push to submit.

The topology is the local stack's (omtx/devstack/provision.py): same topic and subscription
names, same endpoint paths, same ack deadlines. Each push carries an OIDC token of the push identity,
whose audience is the receiving service's URL; a message that keeps failing goes to its
subscription's dead-letter topic, which has a pull subscription (a topic alone drops messages)
watched by an alert (monitoring.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_gcp import cloudrunv2, pubsub, serviceaccount, storage

from omtx_infra.config import DROP_ACK_DEADLINE_S, InfraConfig
from omtx_infra.identity import PUBLISHES, Identities, ServiceAgents

TOPIC_FIELDS = (
    "topic_submitted",
    "topic_dispatched",
    "topic_job_done",
    "topic_batch_done",
    "topic_bucket_events",
    "topic_webhooks",
    "topic_campaign_done",
)


@dataclass(frozen=True)
class PushRoute:
    topic_field: str
    service: str
    path: str | None  # None: the topic's path, which functions-framework turns into the CloudEvent source
    ack_deadline_s: int | None = None  # None: the stack's push ack deadline


PUSH_ROUTES: dict[str, PushRoute] = {
    "dispatch-submitted": PushRoute("topic_submitted", "dispatch", None),
    "complete-job-done": PushRoute("topic_job_done", "complete", None),
    "complete-webhooks": PushRoute("topic_webhooks", "complete", None),
    "submit-bucket-events": PushRoute("topic_bucket_events", "submit", "/pubsub/bucket-events", DROP_ACK_DEADLINE_S),
    # Campaign advancement: a stage's batch-done submits the next stage's batch (submit's work)
    "submit-batch-done": PushRoute("topic_batch_done", "submit", "/pubsub/batch-done"),
}
NEVER_EXPIRE = pubsub.SubscriptionExpirationPolicyArgs(ttl="")  # the default deletes a subscription idle for 31 days
WEEK = "604800s"


def dead_letter_name(subscription: str) -> str:
    return f"{subscription}-dead-letter"


@dataclass(frozen=True)
class Topics:
    by_field: dict[str, pubsub.Topic]  # keyed by the Settings field that names the topic
    dead_letter: dict[str, pubsub.Topic]  # keyed by the subscription that dead-letters into it


def create_topics(cfg: InfraConfig, identities: Identities) -> Topics:
    settings = cfg.settings
    by_field = {
        field: pubsub.Topic(
            getattr(settings, field),
            name=getattr(settings, field),
            project=cfg.project,
            # Downstream subscribers created later can still seek back a week of `batch-done`.
            message_retention_duration=WEEK if field == "topic_batch_done" else None,
        )
        for field in TOPIC_FIELDS
    }
    dead_letter = {
        name: pubsub.Topic(dead_letter_name(name), name=dead_letter_name(name), project=cfg.project)
        for name in PUSH_ROUTES
    }
    for identity, fields in PUBLISHES.items():
        for field in fields:
            pubsub.TopicIAMMember(
                f"{identity}-publishes-{getattr(settings, field)}",
                project=cfg.project,
                topic=by_field[field].name,
                role="roles/pubsub.publisher",
                member=identities.runtime[identity].member,
            )
    return Topics(by_field=by_field, dead_letter=dead_letter)


def create_push_subscriptions(
    cfg: InfraConfig,
    topics: Topics,
    services: dict[str, cloudrunv2.Service],
    identities: Identities,
    agents: ServiceAgents,
) -> dict[str, pubsub.Subscription]:
    # Pub/Sub signs push tokens as the push identity (projects older than April 2021 need this grant).
    serviceaccount.IAMMember(
        "pubsub-agent-signs-push-tokens",
        service_account_id=identities.pubsub_push.name,
        role="roles/iam.serviceAccountTokenCreator",
        member=agents.pubsub,
    )
    subscriptions: dict[str, pubsub.Subscription] = {}
    for name, route in PUSH_ROUTES.items():
        topic = topics.by_field[route.topic_field]
        url = services[route.service].uri
        subscriptions[name] = pubsub.Subscription(
            name,
            name=name,
            project=cfg.project,
            topic=topic.id,
            ack_deadline_seconds=route.ack_deadline_s or cfg.push_ack_deadline_s,
            push_config=pubsub.SubscriptionPushConfigArgs(
                push_endpoint=_endpoint(url, topic, route.path, cfg.project),
                oidc_token=pubsub.SubscriptionPushConfigOidcTokenArgs(
                    service_account_email=identities.pubsub_push.email, audience=url
                ),
            ),
            retry_policy=pubsub.SubscriptionRetryPolicyArgs(
                minimum_backoff=f"{cfg.push_min_backoff_s}s", maximum_backoff=f"{cfg.push_max_backoff_s}s"
            ),
            dead_letter_policy=pubsub.SubscriptionDeadLetterPolicyArgs(
                dead_letter_topic=topics.dead_letter[name].id, max_delivery_attempts=cfg.max_delivery_attempts
            ),
            expiration_policy=NEVER_EXPIRE,
        )
        _dead_letter_plumbing(cfg, name, topics.dead_letter[name], subscriptions[name], agents)
    return subscriptions


def _endpoint(url: pulumi.Output[str], topic: pubsub.Topic, path: str | None, project: str) -> pulumi.Output[str]:
    return pulumi.Output.all(url, topic.name).apply(
        lambda parts: str(parts[0]) + (path or f"/projects/{project}/topics/{parts[1]}")
    )


def _dead_letter_plumbing(
    cfg: InfraConfig, name: str, dead_letter: pubsub.Topic, source: pubsub.Subscription, agents: ServiceAgents
) -> None:
    """What dead-lettering needs besides the policy: the Pub/Sub service agent publishes to the
    dead-letter topic and acknowledges the source, and someone can read what landed there."""
    pubsub.TopicIAMMember(
        f"pubsub-agent-publishes-{dead_letter_name(name)}",
        project=cfg.project,
        topic=dead_letter.name,
        role="roles/pubsub.publisher",
        member=agents.pubsub,
    )
    pubsub.SubscriptionIAMMember(
        f"pubsub-agent-acks-{name}",
        project=cfg.project,
        subscription=source.name,
        role="roles/pubsub.subscriber",
        member=agents.pubsub,
    )
    pubsub.Subscription(
        dead_letter_name(name),
        name=dead_letter_name(name),
        project=cfg.project,
        topic=dead_letter.id,
        message_retention_duration=WEEK,  # the most Pub/Sub keeps: a week to triage and replay
        expiration_policy=NEVER_EXPIRE,
    )


def create_drop_notification(
    cfg: InfraConfig, inputs: storage.Bucket, topics: Topics, agents: ServiceAgents
) -> storage.Notification:
    """Object-finalize notifications for `drops/` only: stored submissions (`batches/…`) never
    reach Pub/Sub. The drop reports submit writes beside the drops do, and it ignores them."""
    topic = topics.by_field["topic_bucket_events"]
    may_publish = pubsub.TopicIAMMember(
        "storage-agent-publishes-bucket-events",
        project=cfg.project,
        topic=topic.name,
        role="roles/pubsub.publisher",
        member=agents.storage,
    )
    return storage.Notification(
        "drops-notification",
        bucket=inputs.name,
        topic=topic.id,
        payload_format="JSON_API_V1",
        event_types=["OBJECT_FINALIZE"],
        object_name_prefix=cfg.settings.drops_prefix,
        # GCS checks it may publish when the notification is created.
        opts=pulumi.ResourceOptions(depends_on=[may_publish]),
    )
