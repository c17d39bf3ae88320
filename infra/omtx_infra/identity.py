"""Service accounts, one per caller, and the table of what each one may touch.

Runtime identities: one per Cloud Run service and one for the Modal workers (impersonated through
workload identity federation). Invoker identities: the only principals allowed to call the
private services (Pub/Sub push, the Eventarc trigger, Cloud Scheduler). Resource-level grants are
made by the module that owns the resource, from the tables below; project-level grants are here.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_gcp import organizations, projects, serviceaccount, storage

from omtx.settings import SERVICES

WORKER = "worker"
OBJECT_USER = "roles/storage.objectUser"  # read, create and overwrite (retries rewrite the same names)

# Read from the code (omtx/usecases, omtx/api, omtx/worker.py): which bucket each identity uses.
# submit: stores inputs, reads drops and writes their reports (inputs); serves result files and,
# as the reconciler, finalises batches (results). aggregate and the workers write results.
BUCKET_ACCESS: dict[str, dict[str, str]] = {
    "submit": {"inputs": OBJECT_USER, "results": OBJECT_USER},
    "aggregate": {"results": OBJECT_USER},
    WORKER: {"results": OBJECT_USER},
}
# Settings field of each topic an identity publishes to. The reconciler (in submit) re-publishes
# `submitted`, finalises batches (`batch-done`) and re-drives webhooks; dispatch answers result-
# cache hits with `job-done`; aggregate queues milestone and completion webhooks.
PUBLISHES: dict[str, tuple[str, ...]] = {
    "submit": ("topic_submitted", "topic_batch_done", "topic_webhooks", "topic_campaign_done"),
    "dispatch": ("topic_dispatched", "topic_job_done"),
    "aggregate": ("topic_batch_done", "topic_webhooks"),
    WORKER: ("topic_job_done",),
}
# Firestore has no per-collection IAM: every service reads and writes batch and job documents,
# and the workers renew their calls' leases (omtx/heartbeat.py). Every service writes spans to
# Cloud Trace; submit's operator status reads dead-letter backlogs.
PROJECT_ROLES: dict[str, tuple[str, ...]] = (
    {name: ("roles/datastore.user", "roles/cloudtrace.agent") for name in SERVICES}
    | {"submit": ("roles/datastore.user", "roles/cloudtrace.agent", "roles/monitoring.viewer")}
    | {WORKER: ("roles/datastore.user",)}
)


@dataclass(frozen=True)
class Identities:
    runtime: dict[str, serviceaccount.Account]  # the services' and the workers' (key WORKER)
    pubsub_push: serviceaccount.Account
    eventarc: serviceaccount.Account
    scheduler: serviceaccount.Account


@dataclass(frozen=True)
class ServiceAgents:
    """Google-managed identities that act for the project."""

    project_number: pulumi.Output[str]
    pubsub: pulumi.Output[str]
    storage: pulumi.Output[str]


def _account(name: str, project: str, description: str) -> serviceaccount.Account:
    return serviceaccount.Account(
        name,
        account_id=f"omtx-{name}",
        display_name=f"OMTX-Hub {name}",
        description=description,
        project=project,
    )


def create_identities(project: str) -> Identities:
    runtime = {name: _account(name, project, f"Runtime identity of the {name} service") for name in SERVICES}
    runtime[WORKER] = _account(WORKER, project, "Modal workers, through workload identity federation")
    identities = Identities(
        runtime=runtime,
        pubsub_push=_account("pubsub-push", project, "Pub/Sub push subscriptions' OIDC identity"),
        eventarc=_account("eventarc", project, "Firestore trigger of the aggregate service"),
        scheduler=_account("scheduler", project, "Cloud Scheduler's reconcile job"),
    )
    for name, roles in PROJECT_ROLES.items():
        for role in roles:
            projects.IAMMember(
                f"{name}-{role.rsplit('/', 1)[-1]}", project=project, role=role, member=runtime[name].member
            )
    projects.IAMMember(
        "eventarc-eventReceiver",
        project=project,
        role="roles/eventarc.eventReceiver",
        member=identities.eventarc.member,
    )
    return identities


def service_agents(project: str) -> ServiceAgents:
    number = organizations.get_project_output(project_id=project).number
    return ServiceAgents(
        project_number=number,
        pubsub=number.apply(lambda n: f"serviceAccount:service-{n}@gcp-sa-pubsub.iam.gserviceaccount.com"),
        # Looking the storage agent up also creates it in a new project.
        storage=storage.get_project_service_account_output(project=project).member,
    )
