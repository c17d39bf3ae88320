"""Alerts: dead letters, stuck deliveries, stuck batches, a failing reconciler."""

import json
import logging
import re

from omtx.logs import CloudLoggingFormatter
from omtx.usecases.reconcile import ReconcileReport
from omtx_infra.monitoring import OVERDUE_PATTERN, RECONCILE_LOGGER
from tests.infra.program import PROJECT, Deployed

POLICY = "gcp:monitoring/alertPolicy:AlertPolicy"


def condition(deployed: Deployed, name: str) -> dict:
    (only,) = deployed.one(POLICY, name).inputs["conditions"]
    return dict(only["conditionThreshold"])


def test_any_dead_lettered_message_alerts(deployed: Deployed) -> None:
    threshold = condition(deployed, "dead-letters")
    dead_letters = {s.inputs["name"] for s in deployed.of("gcp:pubsub/subscription:Subscription")} - {
        s.inputs["name"] for s in deployed.of("gcp:pubsub/subscription:Subscription") if "pushConfig" in s.inputs
    }
    assert dead_letters and all(f'"{name}"' in threshold["filter"] for name in dead_letters)
    assert "num_undelivered_messages" in threshold["filter"]
    assert threshold["comparison"] == "COMPARISON_GT" and threshold["thresholdValue"] == 0


def test_stuck_work_alerts(deployed: Deployed) -> None:
    deliveries = condition(deployed, "stuck-deliveries")
    assert "oldest_unacked_message_age" in deliveries["filter"] and deliveries["thresholdValue"] == 1800
    batches = condition(deployed, "stuck-batches")
    assert "logging.googleapis.com/user/omtx/reconcile_overdue_sweeps" in batches["filter"]
    assert batches["duration"] == "1800s"


def test_overdue_log_filter_matches_what_the_reconciler_logs() -> None:
    def line(**counts: int) -> dict:
        record = logging.LogRecord(RECONCILE_LOGGER, logging.INFO, __file__, 1, "reconcile: %s", None, None)
        record.args = (ReconcileReport(**counts).model_dump(),)
        return dict(json.loads(CloudLoggingFormatter().format(record)))

    overdue = line(overdue=3, redispatched=3)
    assert overdue["logger"] == RECONCILE_LOGGER and re.search(OVERDUE_PATTERN, overdue["message"])
    assert not re.search(OVERDUE_PATTERN, line(overdue=0, batches_finalized=1)["message"])


def test_alerts_notify_the_configured_address() -> None:
    from tests.infra.program import deploy

    deployed = deploy({"omtx-hub:alertEmail": "oncall@example.com"})
    (channel,) = deployed.of("gcp:monitoring/notificationChannel:NotificationChannel")
    assert channel.inputs["labels"] == {"email_address": "oncall@example.com"}
    for policy in deployed.of(POLICY):
        assert policy.inputs["notificationChannels"] == ["alert-email-id"], policy.name
        assert policy.inputs["project"] == PROJECT
