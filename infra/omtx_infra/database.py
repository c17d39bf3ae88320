"""Firestore: the database, the composite indexes the queries in omtx/gcp/firestore/
need, TTL policies for data that expires, and index exemptions for hot or bulky fields.

Layout: batches/{batch}, batches/{batch}/jobs/{job}, batches/{batch}/shards/{n},
batches/{batch}/claims/finalize, batches/{batch}/calls/{call}, idempotency_keys/{key},
rejections/{id}.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_gcp import firestore

from omtx_infra.config import InfraConfig

ASC, DESC = "ASCENDING", "DESCENDING"


@dataclass(frozen=True)
class CompositeIndex:
    collection: str
    fields: tuple[tuple[str, str], ...]  # (field path, order)
    group: bool = False  # a collection-group query (across every batch)

    @property
    def resource_name(self) -> str:
        parts = "-".join(f"{path.replace('.', '_')}-{order[:3].lower()}" for path, order in self.fields)
        return f"{self.collection}{'-group' if self.group else ''}-{parts}"


def composite_indexes(
    sortable_job_fields: tuple[str, ...], flag_job_fields: tuple[str, ...] = ()
) -> list[CompositeIndex]:
    indexes = [
        # list_batches: tenant ==, [status ==], newest first
        CompositeIndex("batches", (("tenant", ASC), ("created_at", DESC))),
        CompositeIndex("batches", (("tenant", ASC), ("status", ASC), ("created_at", DESC))),
        # query_jobs: status ==, in index order
        CompositeIndex("jobs", (("status", ASC), ("index", ASC))),
        # reconciler: overdue dispatched jobs and long-queued jobs of every batch
        CompositeIndex("jobs", (("status", ASC), ("deadline", ASC)), group=True),
        CompositeIndex("jobs", (("status", ASC), ("queued_at", ASC)), group=True),
        # reconciler: executor calls whose lease lapsed, and calls with reports to check
        CompositeIndex("calls", (("open", ASC), ("lease_until", ASC)), group=True),
        CompositeIndex("calls", (("open", ASC), ("first_report_at", ASC)), group=True),
        # reconciler: finalisation claims whose lease expired
        CompositeIndex("claims", (("state", ASC), ("lease_until", ASC)), group=True),
        # result cache: succeeded jobs of any batch with one of a chunk's input hashes
        CompositeIndex("jobs", (("input_hash", ASC), ("status", ASC)), group=True),
        # dispatch backpressure: a model's jobs in flight across every batch
        CompositeIndex("jobs", (("model", ASC), ("status", ASC)), group=True),
        # reconciler: webhook deliveries whose next attempt is due
        CompositeIndex("webhooks", (("state", ASC), ("next_attempt_at", ASC)), group=True),
    ]
    # query_jobs ordered by a field or metric (then by index, for stable pages), with or without status
    for field in sortable_job_fields:
        for order in (ASC, DESC):
            indexes.append(CompositeIndex("jobs", ((field, order), ("index", ASC))))
            indexes.append(CompositeIndex("jobs", (("status", ASC), (field, order), ("index", ASC))))
    # query_jobs filtered on a boolean metric (flag ==), in index order or ordered by a sortable
    # field; with status == as well, Firestore merges these with the status indexes above
    for flag in flag_job_fields:
        indexes.append(CompositeIndex("jobs", ((flag, ASC), ("index", ASC))))
        for field in sortable_job_fields:
            for order in (ASC, DESC):
                indexes.append(CompositeIndex("jobs", ((flag, ASC), (field, order), ("index", ASC))))
    return indexes


# Fields whose single-field indexes are dropped (no query filters or orders on them alone):
# timestamps set on every job (sequential index values cap a collection near 500 writes/s),
# counters incremented on every completion, and bulky values that only cost index storage.
INDEX_EXEMPTIONS: dict[str, tuple[str, ...]] = {
    "jobs": ("created_at", "dispatched_at", "finished_at", "smiles", "files", "error"),
    "shards": ("succeeded", "failed"),
    "batches": ("protein", "params", "milestones", "results"),
    "calls": ("job_ids", "reported"),
    "idempotency_keys": ("outcome",),
    "rejections": ("payload",),
}


@dataclass(frozen=True)
class Ttl:
    collection: str
    field: str
    days: int


def ttl_policies(cfg: InfraConfig) -> list[Ttl]:
    """Documents deleted (within about a day) once `field` is this many days old."""
    return [
        # Long past any redelivery of the request or the drop notification that used the key.
        Ttl("idempotency_keys", "created_at", cfg.idempotency_key_ttl_days),
        Ttl("rejections", "at", cfg.rejection_ttl_days),
    ]


def create_database(cfg: InfraConfig) -> firestore.Database:
    database = firestore.Database(
        "database",
        name="(default)",
        project=cfg.project,
        location_id=cfg.database_location,
        type="FIRESTORE_NATIVE",
        delete_protection_state="DELETE_PROTECTION_ENABLED",
        point_in_time_recovery_enablement="POINT_IN_TIME_RECOVERY_ENABLED",
        # `pulumi destroy` leaves the data: deleting a database is a console decision.
        deletion_policy="ABANDON",
    )
    after_db = pulumi.ResourceOptions(depends_on=[database])
    for index in composite_indexes(cfg.sortable_job_fields, cfg.flag_job_fields):
        firestore.Index(
            index.resource_name,
            project=cfg.project,
            database=database.name,
            collection=index.collection,
            query_scope="COLLECTION_GROUP" if index.group else "COLLECTION",
            fields=[firestore.IndexFieldArgs(field_path=path, order=order) for path, order in index.fields],
            opts=after_db,
        )
    for collection, fields in INDEX_EXEMPTIONS.items():
        for field in fields:
            firestore.Field(
                f"{collection}-{field}-unindexed",
                project=cfg.project,
                database=database.name,
                collection=collection,
                field=field,
                index_config=firestore.FieldIndexConfigArgs(indexes=[]),
                opts=after_db,
            )
    for ttl in ttl_policies(cfg):
        firestore.Field(
            f"{ttl.collection}-{ttl.field}-ttl",
            project=cfg.project,
            database=database.name,
            collection=ttl.collection,
            field=ttl.field,
            ttl_config=firestore.FieldTtlConfigArgs(expiration_offset=f"{ttl.days * 86400}s"),
            # The TTL field is not queried; indexing its timestamps would only add write hotspots.
            index_config=firestore.FieldIndexConfigArgs(indexes=[]),
            opts=after_db,
        )
    return database
