"""Firestore: indexes for the store's queries, TTL, exemptions; the trigger that feeds aggregate."""

from omtx.devstack.provision import SHARD_TRIGGER_ID
from omtx.gcp.firestore.jobs import JOB_FIELDS
from omtx.predictors.registry import MODELS
from omtx.results.catalog import declared as kinds
from omtx_infra.config import InfraConfig
from tests.infra.program import Deployed

INDEX, FIELD = "gcp:firestore/index:Index", "gcp:firestore/field:Field"
A, D = "ASCENDING", "DESCENDING"


def indexes(deployed: Deployed) -> set[tuple[str, str, tuple[tuple[str, str], ...]]]:
    return {
        (
            i.inputs["collection"],
            i.inputs["queryScope"],
            tuple((f["fieldPath"], f["order"]) for f in i.inputs["fields"]),
        )
        for i in deployed.of(INDEX)
    }


def test_the_store_queries_have_their_composite_indexes(deployed: Deployed) -> None:
    found = indexes(deployed)
    needed = {
        # list_batches(tenant, status?) newest first
        ("batches", "COLLECTION", (("tenant", A), ("created_at", D))),
        ("batches", "COLLECTION", (("tenant", A), ("status", A), ("created_at", D))),
        # query_jobs(status=…) in index order, and ordered by a metric, both directions
        ("jobs", "COLLECTION", (("status", A), ("index", A))),
        ("jobs", "COLLECTION", (("metrics.qed", D), ("index", A))),
        ("jobs", "COLLECTION", (("status", A), ("metrics.qed", D), ("index", A))),
        ("jobs", "COLLECTION", (("duration_s", A), ("index", A))),
        # overdue_jobs / stale_queued_jobs / stale_finalizations: across every batch
        ("jobs", "COLLECTION_GROUP", (("status", A), ("deadline", A))),
        ("jobs", "COLLECTION_GROUP", (("status", A), ("queued_at", A))),
        ("claims", "COLLECTION_GROUP", (("state", A), ("lease_until", A))),
        # lapsed_calls / reporting_calls: executor calls whose lease lapsed, or with reports to check
        ("calls", "COLLECTION_GROUP", (("open", A), ("lease_until", A))),
        ("calls", "COLLECTION_GROUP", (("open", A), ("first_report_at", A))),
        # cached_results: the result cache looks up succeeded jobs by input hash in every batch
        ("jobs", "COLLECTION_GROUP", (("input_hash", A), ("status", A))),
        # jobs_in_flight: dispatch's per-model capacity check
        ("jobs", "COLLECTION_GROUP", (("model", A), ("status", A))),
    }
    assert needed <= found


def test_every_models_primary_metric_is_sortable_by_default() -> None:
    sortable = InfraConfig.model_fields["sortable_job_fields"].default
    missing = {f"metrics.{m.primary_metric}" for m in MODELS.values()} - set(sortable)
    assert not missing, f"add {sorted(missing)} to sortable_job_fields in infra/omtx_infra/config.py"
    assert {f for f in sortable if not f.startswith("metrics.")} <= JOB_FIELDS


def test_every_models_boolean_metrics_are_filterable_by_default(deployed: Deployed) -> None:
    """`pb_valid=true` on a running batch is an equality on the flag, in index order or ordered by
    a sortable field: Firestore needs a composite index for each (the emulator needs none)."""
    flags = InfraConfig.model_fields["flag_job_fields"].default
    declared = {f"metrics.{name}" for m in MODELS for name, kind in kinds(m).items() if kind == "boolean"}
    assert not declared - set(flags), (
        f"add {sorted(declared - set(flags))} to flag_job_fields in infra/omtx_infra/config.py"
    )
    found = indexes(deployed)
    assert ("jobs", "COLLECTION", (("metrics.pb_valid", A), ("index", A))) in found
    assert ("jobs", "COLLECTION", (("metrics.pb_valid", A), ("metrics.vina_score", A), ("index", A))) in found
    assert ("jobs", "COLLECTION", (("metrics.lipinski_pass", A), ("metrics.qed", D), ("index", A))) in found
    assert len(found) <= 200  # Firestore's limit of composite indexes per database


def test_exempt_fields_are_never_queried(deployed: Deployed) -> None:
    queried = {(c, path) for c, _, fields in indexes(deployed) for path, _ in fields}
    queried |= {("jobs", f) for f in JOB_FIELDS} | {("jobs", "index"), ("batches", "status")}
    fields = [(f.inputs["collection"], f.inputs["field"], f.inputs) for f in deployed.of(FIELD)]
    assert fields
    assert len({(c, f) for c, f, _ in fields}) == len(fields), "two configurations of one field would fight"
    for collection, field, inputs in fields:
        assert inputs["indexConfig"] == {"indexes": []}, (collection, field)
        assert (collection, field) not in queried, (collection, field)
    # Counters are incremented on every completion; their indexes would be rewritten each time.
    assert {("shards", "succeeded"), ("shards", "failed")} <= {(c, f) for c, f, _ in fields}


def test_expiring_data_has_a_ttl(deployed: Deployed) -> None:
    ttls = {
        (f.inputs["collection"], f.inputs["field"]): f.inputs["ttlConfig"]
        for f in deployed.of(FIELD)
        if "ttlConfig" in f.inputs
    }
    # The store writes these timestamps (claim_idempotency_key, record_rejection).
    assert ttls == {
        ("idempotency_keys", "created_at"): {"expirationOffset": f"{7 * 86400}s"},
        ("rejections", "at"): {"expirationOffset": f"{90 * 86400}s"},
    }


def test_database_is_native_protected_and_recoverable(deployed: Deployed) -> None:
    (database,) = deployed.of("gcp:firestore/database:Database")
    assert database.inputs["name"] == "(default)" and database.inputs["type"] == "FIRESTORE_NATIVE"
    assert database.inputs["deleteProtectionState"] == "DELETE_PROTECTION_ENABLED"
    assert database.inputs["pointInTimeRecoveryEnablement"] == "POINT_IN_TIME_RECOVERY_ENABLED"


def test_shard_writes_trigger_aggregate_as_in_the_local_stack(deployed: Deployed) -> None:
    (trigger,) = deployed.of("gcp:eventarc/trigger:Trigger")
    assert trigger.inputs["name"] == SHARD_TRIGGER_ID
    criteria = {c["attribute"]: (c["value"], c.get("operator")) for c in trigger.inputs["matchingCriterias"]}
    # The same event type and path pattern omtx/devstack/provision.py registers on the emulator.
    assert criteria == {
        "type": ("google.cloud.firestore.document.v1.written", None),
        "database": ("(default)", None),
        "document": ("batches/{batchId}/shards/{shardId}", "match-path-pattern"),
    }
    assert trigger.inputs["eventDataContentType"] == "application/protobuf"
    assert trigger.inputs["destination"] == {"cloudRunService": {"service": "omtx-aggregate", "region": "europe-west1"}}
    (database,) = deployed.of("gcp:firestore/database:Database")
    assert trigger.inputs["location"] == database.inputs["locationId"]  # a Firestore trigger lives with its data
