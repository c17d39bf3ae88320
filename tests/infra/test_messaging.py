"""Pub/Sub: every push subscription authenticates, retries, dead-letters; the topology is the
local stack's; the drop notification only reports drops/."""

from typing import Any

import pytest
from werkzeug.exceptions import NotFound

from omtx.api.routes import URLS
from omtx.devstack.provision import LONG_ACK_DEADLINE, PUSH_SUBSCRIPTIONS, dead_letter_topic
from omtx.settings import Settings
from tests.infra.program import PROJECT, Deployed

SUBSCRIPTION, TOPIC = "gcp:pubsub/subscription:Subscription", "gcp:pubsub/topic:Topic"
PUSH_IDENTITY = f"omtx-pubsub-push@{PROJECT}.iam.gserviceaccount.com"
# The settings' defaults (not whatever OMTX_* variables the test process has).
DEFAULTS: dict[str, Any] = {name: field.default for name, field in Settings.model_fields.items()}


def push_subscriptions(deployed: Deployed) -> dict[str, dict]:
    return {s.inputs["name"]: s.inputs for s in deployed.of(SUBSCRIPTION) if "pushConfig" in s.inputs}


def service_urls(deployed: Deployed) -> dict[str, str]:
    """Cloud Run service name → URL, as the mocks answer (the program reads them back)."""
    return {
        s.name: f"https://{s.inputs['name']}-x7y2k3-ew.a.run.app" for s in deployed.of("gcp:cloudrunv2/service:Service")
    }


def route(path: str) -> str:
    """The API endpoint a POST to `path` reaches (omtx/api/routes.py)."""
    endpoint, _ = URLS.bind("api.example").match(path, method="POST")
    return str(endpoint)


def test_every_push_subscription_authenticates_retries_and_dead_letters(deployed: Deployed) -> None:
    subscriptions = push_subscriptions(deployed)
    topics = {t.inputs["name"] for t in deployed.of(TOPIC)}
    pulled = {s.inputs["topic"] for s in deployed.of(SUBSCRIPTION) if "pushConfig" not in s.inputs}
    assert subscriptions
    for name, sub in subscriptions.items():
        oidc = sub["pushConfig"]["oidcToken"]
        assert oidc["serviceAccountEmail"] == PUSH_IDENTITY, name
        # Cloud Run accepts tokens whose audience is its own URL; the endpoint is on that URL.
        assert oidc["audience"] in service_urls(deployed).values(), name
        assert sub["pushConfig"]["pushEndpoint"].startswith(oidc["audience"] + "/"), name
        dead_letter = sub["deadLetterPolicy"]["deadLetterTopic"]
        assert dead_letter.rsplit("/", 1)[-1] in topics and dead_letter != sub["topic"], name
        assert 5 <= sub["deadLetterPolicy"]["maxDeliveryAttempts"] <= 100, name
        assert dead_letter in pulled, f"{name}: nothing reads its dead-letter topic"
        assert sub["retryPolicy"] == {"minimumBackoff": "10s", "maximumBackoff": "600s"}, name
    for sub in deployed.of(SUBSCRIPTION):
        assert sub.inputs["expirationPolicy"] == {"ttl": ""}, f"{sub.name} would expire after 31 idle days"


def test_same_topology_as_the_local_stack(deployed: Deployed) -> None:
    subscriptions = push_subscriptions(deployed)
    assert set(subscriptions) == set(PUSH_SUBSCRIPTIONS)
    urls = service_urls(deployed)
    for name, (topic_field, service, path) in PUSH_SUBSCRIPTIONS.items():
        sub = subscriptions[name]
        topic = DEFAULTS[topic_field]
        assert sub["topic"] == f"projects/{PROJECT}/topics/{topic}"
        assert sub["pushConfig"]["pushEndpoint"] == urls[service] + (path or f"/projects/{PROJECT}/topics/{topic}")
        assert sub["ackDeadlineSeconds"] == LONG_ACK_DEADLINE.get(name, DEFAULTS["push_ack_deadline_s"])
        assert sub["deadLetterPolicy"]["deadLetterTopic"].endswith("/" + dead_letter_topic(name))
        if path:
            # a push route: one of submit's pubsub-access endpoints
            assert route(path) in {"bucket_event", "batch_done_push"}
    expected = {v for k, v in DEFAULTS.items() if k.startswith("topic_")} | {
        dead_letter_topic(s) for s in PUSH_SUBSCRIPTIONS
    }
    assert {t.inputs["name"] for t in deployed.of(TOPIC)} == expected


def test_drop_notification_reports_only_finalized_drops(deployed: Deployed) -> None:
    (notification,) = deployed.of("gcp:storage/notification:Notification")
    assert notification.inputs["objectNamePrefix"] == DEFAULTS["drops_prefix"] == "drops/"
    assert notification.inputs["eventTypes"] == ["OBJECT_FINALIZE"]
    assert notification.inputs["payloadFormat"] == "JSON_API_V1"  # what omtx.usecases.drops parses
    assert notification.inputs["bucket"] == f"{PROJECT}-omtx-inputs"
    assert notification.inputs["topic"] == f"projects/{PROJECT}/topics/bucket-events"


def test_batch_done_keeps_a_week_for_late_subscribers(deployed: Deployed) -> None:
    assert deployed.one(TOPIC, "batch-done").inputs["messageRetentionDuration"] == "604800s"


def test_scheduler_calls_the_reconciler_with_an_oidc_token(deployed: Deployed) -> None:
    (job,) = deployed.of("gcp:cloudscheduler/job:Job")
    target = job.inputs["httpTarget"]
    submit = service_urls(deployed)["submit"]
    assert target["uri"] == f"{submit}/internal/reconcile" and target["httpMethod"] == "POST"
    assert route("/internal/reconcile") == "reconcile"
    assert target["oidcToken"] == {
        "serviceAccountEmail": f"omtx-scheduler@{PROJECT}.iam.gserviceaccount.com",
        "audience": submit,
    }
    with pytest.raises(NotFound):  # the route check above is not vacuous
        route("/internal/no-such-route")
