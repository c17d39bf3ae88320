"""The whole footprint, wired in dependency order, and what the stack exports."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_gcp import cloudrunv2

from omtx_infra.config import InfraConfig
from omtx_infra.database import create_database
from omtx_infra.federation import create_federation, modal_worker_secret
from omtx_infra.identity import WORKER, create_identities, service_agents
from omtx_infra.messaging import create_drop_notification, create_push_subscriptions, create_topics
from omtx_infra.monitoring import create_alerts
from omtx_infra.registry import create_repository, image_url
from omtx_infra.scheduling import create_reconcile_job
from omtx_infra.secrets import create_modal_token
from omtx_infra.services import create_services
from omtx_infra.storage import Buckets, create_buckets
from omtx_infra.triggers import create_shard_trigger


@dataclass(frozen=True)
class Deployment:
    image: pulumi.Output[str]
    services: dict[str, cloudrunv2.Service]
    buckets: Buckets
    worker_email: pulumi.Output[str]
    workload_identity_provider: pulumi.Output[str]
    modal_worker_secret: pulumi.Output[dict[str, str]]


def build(cfg: InfraConfig) -> Deployment:
    identities = create_identities(cfg.project)
    agents = service_agents(cfg.project)
    image = image_url(cfg, create_repository(cfg))
    buckets = create_buckets(cfg, identities.runtime)
    database = create_database(cfg)
    topics = create_topics(cfg, identities)
    modal_token = create_modal_token(cfg, reader=identities.runtime["dispatch"])
    services = create_services(cfg, image, identities, modal_token)
    create_push_subscriptions(cfg, topics, services, identities, agents)
    create_drop_notification(cfg, buckets.inputs, topics, agents)
    create_shard_trigger(cfg, database, services["aggregate"], identities, agents)
    create_reconcile_job(cfg, services["submit"], identities)
    federation = create_federation(cfg, identities.runtime[WORKER])
    create_alerts(cfg)
    return Deployment(
        image=image,
        services=services,
        buckets=buckets,
        worker_email=identities.runtime[WORKER].email,
        workload_identity_provider=federation.provider.name,
        modal_worker_secret=modal_worker_secret(cfg, federation),
    )


def export(deployment: Deployment) -> None:
    pulumi.export("apiUrl", deployment.services["submit"].uri)
    pulumi.export("image", deployment.image)
    pulumi.export("inputsBucket", deployment.buckets.inputs.name)
    pulumi.export("resultsBucket", deployment.buckets.results.name)
    pulumi.export("workerServiceAccount", deployment.worker_email)
    pulumi.export("workloadIdentityProvider", deployment.workload_identity_provider)
    # `pulumi stack output modalWorkerSecret --json > s.json && modal secret create omtx-gcp --from-json s.json`
    pulumi.export("modalWorkerSecret", deployment.modal_worker_secret)
