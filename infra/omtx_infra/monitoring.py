"""Alerting: messages on a dead-letter subscription, deliveries that stay unacknowledged, batches
whose jobs keep going overdue, and a reconciler that keeps failing.

The last two are what "a batch is stuck" looks like from outside: the reconciler (every minute)
logs each sweep that finds overdue jobs; if that goes on for `stuckAfterS`, jobs are being lost
faster than they are redone (executor down, quota exhausted). Notifications go to `alertEmail`
when it is set; the policies exist either way (visible in Cloud Monitoring).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pulumi
from pulumi_gcp import logging, monitoring

from omtx_infra.config import InfraConfig
from omtx_infra.messaging import PUSH_ROUTES, dead_letter_name
from omtx_infra.scheduling import RECONCILE_JOB

SUBSCRIPTION = 'resource.type = "pubsub_subscription"'
# The reconciler's sweep log line (omtx/usecases/reconcile.py): "reconcile: {'overdue': 3, ...}".
RECONCILE_LOGGER = "omtx.usecases.reconcile"
OVERDUE_PATTERN = "'overdue': [1-9]"


def _one_of(names: Iterable[str]) -> str:
    return "one_of(" + ", ".join(f'"{name}"' for name in names) + ")"


def _log_metric(cfg: InfraConfig, name: str, description: str, log_filter: str) -> logging.Metric:
    return logging.Metric(
        name.replace("/", "-"),
        name=name,
        project=cfg.project,
        description=description,
        filter=log_filter,
        metric_descriptor=logging.MetricMetricDescriptorArgs(metric_kind="DELTA", value_type="INT64", unit="1"),
    )


@dataclass(frozen=True)
class Alert:
    name: str
    title: str
    metric_filter: pulumi.Input[str]
    above: float
    for_s: int  # how long the condition must hold
    aligner: str
    runbook: str
    period_s: int = 300


def _policy(cfg: InfraConfig, alert: Alert, channels: Sequence[pulumi.Input[str]]) -> monitoring.AlertPolicy:
    return monitoring.AlertPolicy(
        alert.name,
        project=cfg.project,
        display_name=f"OMTX-Hub: {alert.title}",
        combiner="OR",
        conditions=[
            monitoring.AlertPolicyConditionArgs(
                display_name=alert.title,
                condition_threshold=monitoring.AlertPolicyConditionConditionThresholdArgs(
                    filter=alert.metric_filter,
                    comparison="COMPARISON_GT",
                    threshold_value=alert.above,
                    duration=f"{alert.for_s}s",
                    aggregations=[
                        monitoring.AlertPolicyConditionConditionThresholdAggregationArgs(
                            alignment_period=f"{alert.period_s}s", per_series_aligner=alert.aligner
                        )
                    ],
                ),
            )
        ],
        notification_channels=list(channels),
        documentation=monitoring.AlertPolicyDocumentationArgs(content=alert.runbook, mime_type="text/markdown"),
        severity="ERROR",
    )


def _user_metric(metric: logging.Metric, resource_type: str) -> pulumi.Output[str]:
    return metric.name.apply(
        lambda name: f'metric.type = "logging.googleapis.com/user/{name}" AND resource.type = "{resource_type}"'
    )


def create_alerts(cfg: InfraConfig) -> list[monitoring.AlertPolicy]:
    channels: list[pulumi.Input[str]] = []
    if cfg.alert_email:
        channel = monitoring.NotificationChannel(
            "alert-email",
            project=cfg.project,
            display_name="OMTX-Hub alerts",
            type="email",
            labels={"email_address": cfg.alert_email},
        )
        channels.append(channel.id)
    overdue = _log_metric(
        cfg,
        "omtx/reconcile_overdue_sweeps",
        "Reconciler sweeps that found overdue jobs",
        f'resource.type = "cloud_run_revision" AND jsonPayload.logger = "{RECONCILE_LOGGER}" '
        f'AND jsonPayload.message =~ "{OVERDUE_PATTERN}"',
    )
    reconcile_failures = _log_metric(
        cfg,
        "omtx/reconcile_failures",
        "Failed attempts of the reconcile Scheduler job",
        f'resource.type = "cloud_scheduler_job" AND resource.labels.job_id = "{RECONCILE_JOB}" AND severity >= ERROR',
    )
    alerts = [
        Alert(
            "dead-letters",
            "messages on a dead-letter subscription",
            f'{SUBSCRIPTION} AND metric.type = "pubsub.googleapis.com/subscription/num_undelivered_messages" '
            f"AND resource.labels.subscription_id = {_one_of(dead_letter_name(name) for name in PUSH_ROUTES)}",
            above=0,
            for_s=0,
            aligner="ALIGN_MAX",
            runbook="A message failed every delivery attempt. Read it (`gcloud pubsub subscriptions pull "
            "<subscription> --limit 10`); its CloudPubSubDeadLetterSource* attributes name its origin. "
            "Fix the cause, then republish it to the source topic or acknowledge it.",
        ),
        Alert(
            "stuck-deliveries",
            "deliveries unacknowledged for too long",
            f'{SUBSCRIPTION} AND metric.type = "pubsub.googleapis.com/subscription/oldest_unacked_message_age" '
            f"AND resource.labels.subscription_id = {_one_of(PUSH_ROUTES)}",
            above=cfg.stuck_after_s,
            for_s=300,
            aligner="ALIGN_MAX",
            period_s=60,
            runbook="A push subscription keeps failing or timing out. Check the receiving service's errors "
            "in its Cloud Run logs, and its max instances.",
        ),
        Alert(
            "stuck-batches",
            "jobs keep going overdue",
            _user_metric(overdue, "cloud_run_revision"),
            above=0,
            for_s=cfg.stuck_after_s,
            aligner="ALIGN_SUM",
            runbook="Every reconciler sweep finds overdue jobs: work is lost faster than it is redone. Check "
            "the Modal app (`modal app logs <app>`), the Modal token secret, and dispatch's logs.",
        ),
        Alert(
            "reconciler-failing",
            "the reconciler keeps failing",
            _user_metric(reconcile_failures, "cloud_scheduler_job"),
            above=0,
            for_s=900,
            aligner="ALIGN_SUM",
            runbook="Cloud Scheduler's calls to POST /internal/reconcile fail: nothing re-drives lost jobs or "
            "unfinished batches. Check submit's logs and the scheduler identity's run.invoker grant.",
        ),
    ]
    return [_policy(cfg, alert, channels) for alert in alerts]
