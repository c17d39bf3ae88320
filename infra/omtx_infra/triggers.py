"""Eventarc: counter-shard writes in Firestore → the aggregate service, as the local stack's
emulator trigger does (omtx/devstack/provision.py, SHARD_TRIGGER_ID).

Events are delivered at least once and unordered; aggregate treats each as a hint and re-reads
state, and the reconciler finishes any batch whose last event was lost.
"""

from __future__ import annotations

from pulumi_gcp import cloudrunv2, eventarc, firestore, serviceaccount

from omtx_infra.config import InfraConfig
from omtx_infra.identity import Identities, ServiceAgents

SHARD_TRIGGER = "aggregate-shard-written"
SHARD_DOCUMENTS = "batches/{batchId}/shards/{shardId}"


def create_shard_trigger(
    cfg: InfraConfig,
    database: firestore.Database,
    aggregate: cloudrunv2.Service,
    identities: Identities,
    agents: ServiceAgents,
) -> eventarc.Trigger:
    # Eventarc delivers through a Pub/Sub push signed as the trigger's identity.
    serviceaccount.IAMMember(
        "pubsub-agent-signs-eventarc-tokens",
        service_account_id=identities.eventarc.name,
        role="roles/iam.serviceAccountTokenCreator",
        member=agents.pubsub,
    )
    return eventarc.Trigger(
        SHARD_TRIGGER,
        name=SHARD_TRIGGER,
        project=cfg.project,
        # A Firestore trigger lives where its database does.
        location=database.location_id,
        matching_criterias=[
            eventarc.TriggerMatchingCriteriaArgs(attribute="type", value="google.cloud.firestore.document.v1.written"),
            eventarc.TriggerMatchingCriteriaArgs(attribute="database", value=database.name),
            eventarc.TriggerMatchingCriteriaArgs(
                attribute="document", value=SHARD_DOCUMENTS, operator="match-path-pattern"
            ),
        ],
        event_data_content_type="application/protobuf",
        destination=eventarc.TriggerDestinationArgs(
            cloud_run_service=eventarc.TriggerDestinationCloudRunServiceArgs(service=aggregate.name, region=cfg.region)
        ),
        service_account=identities.eventarc.email,
    )
