"""Cloud Scheduler: the reconciler's heartbeat (POST /internal/reconcile on submit, with an OIDC
token of the scheduler identity). The local stack runs the same call in a loop."""

from __future__ import annotations

from pulumi_gcp import cloudrunv2, cloudscheduler

from omtx_infra.config import InfraConfig
from omtx_infra.identity import Identities

RECONCILE_JOB = "omtx-reconcile"


def create_reconcile_job(cfg: InfraConfig, submit: cloudrunv2.Service, identities: Identities) -> cloudscheduler.Job:
    return cloudscheduler.Job(
        "reconcile",
        name=RECONCILE_JOB,
        project=cfg.project,
        region=cfg.region,
        description="Re-dispatch overdue jobs, fail those out of attempts, finish batches whose last event was lost",
        schedule=cfg.reconcile_schedule,
        time_zone="Etc/UTC",
        # A sweep of 5,000 overdue jobs takes a while; Scheduler waits at most 30 minutes.
        attempt_deadline=f"{min(cfg.services['submit'].timeout_s, 1800)}s",
        retry_config=cloudscheduler.JobRetryConfigArgs(retry_count=0),  # the next run is the retry
        http_target=cloudscheduler.JobHttpTargetArgs(
            uri=submit.uri.apply(lambda url: f"{url}/internal/reconcile"),
            http_method="POST",
            oidc_token=cloudscheduler.JobHttpTargetOidcTokenArgs(
                service_account_email=identities.scheduler.email, audience=submit.uri
            ),
        ),
    )
