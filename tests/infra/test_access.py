"""Who may do what: exact role sets per identity, and nothing public unless asked for."""

from omtx_infra.identity import OBJECT_USER
from tests.infra.program import PROJECT, PROJECT_NUMBER, Deployed

SUBMIT, DISPATCH, COMPLETE, AGGREGATE = "omtx-submit", "omtx-dispatch", "omtx-complete", "omtx-aggregate"
INPUTS, RESULTS = f"{PROJECT}-omtx-inputs", f"{PROJECT}-omtx-results"
PUBLISHER, SUBSCRIBER = "roles/pubsub.publisher", "roles/pubsub.subscriber"
INVOKER, DATASTORE, TRACE = "roles/run.invoker", "roles/datastore.user", "roles/cloudtrace.agent"
PUBSUB_AGENT = f"serviceAccount:service-{PROJECT_NUMBER}@gcp-sa-pubsub.iam.gserviceaccount.com"
STORAGE_AGENT = f"serviceAccount:service-{PROJECT_NUMBER}@gs-project-accounts.iam.gserviceaccount.com"
PUBLIC = {"allUsers", "allAuthenticatedUsers"}

# Where each kind of IAM grant says which resource it is on.
SCOPES = {
    "gcp:projects/iAMMember:IAMMember": ("project", "project"),
    "gcp:storage/bucketIAMMember:BucketIAMMember": ("bucket", "bucket"),
    "gcp:pubsub/topicIAMMember:TopicIAMMember": ("topic", "topic"),
    "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember": ("subscription", "subscription"),
    "gcp:cloudrunv2/serviceIamMember:ServiceIamMember": ("run", "name"),
    "gcp:secretmanager/secretIamMember:SecretIamMember": ("secret", "secretId"),
    "gcp:serviceaccount/iAMMember:IAMMember": ("service-account", "serviceAccountId"),
}


def sa(name: str) -> str:
    return f"serviceAccount:omtx-{name}@{PROJECT}.iam.gserviceaccount.com"


def sa_resource(name: str) -> str:
    return f"projects/{PROJECT}/serviceAccounts/omtx-{name}@{PROJECT}.iam.gserviceaccount.com"


def grants(deployed: Deployed) -> dict[str, set[tuple[str, str, str]]]:
    """member → {(scope, resource, role)} over every IAM grant the program makes."""
    found: dict[str, set[tuple[str, str, str]]] = {}
    for resource in deployed.resources:
        if "iam" in resource.type.lower() and resource.type not in SCOPES and "Member" in resource.type:
            raise AssertionError(f"unclassified IAM grant {resource.type}: add it to SCOPES")
        if resource.type in SCOPES:
            scope, key = SCOPES[resource.type]
            grant = (scope, resource.inputs[key], resource.inputs["role"])
            found.setdefault(resource.inputs["member"], set()).add(grant)
    return found


def test_each_identity_holds_exactly_the_roles_its_code_uses(deployed: Deployed) -> None:
    worker_pool = f"projects/{PROJECT_NUMBER}/locations/global/workloadIdentityPools/omtx-modal"
    expected = {
        sa("submit"): {
            ("project", PROJECT, DATASTORE),
            ("project", PROJECT, TRACE),
            ("project", PROJECT, "roles/monitoring.viewer"),  # operator status: dead-letter backlogs
            ("bucket", INPUTS, OBJECT_USER),
            ("bucket", RESULTS, OBJECT_USER),
            ("topic", "submitted", PUBLISHER),
            ("topic", "batch-done", PUBLISHER),  # the reconciler finalises batches
            ("topic", "webhooks", PUBLISHER),  # and re-drives webhook deliveries
            ("topic", "campaign-done", PUBLISHER),  # campaigns end in submit (batch-done push)
        },
        sa("dispatch"): {
            ("project", PROJECT, DATASTORE),
            ("project", PROJECT, TRACE),
            ("topic", "dispatched", PUBLISHER),
            ("topic", "job-done", PUBLISHER),  # result-cache hits
            ("secret", "modal-token-id", "roles/secretmanager.secretAccessor"),
            ("secret", "modal-token-secret", "roles/secretmanager.secretAccessor"),
        },
        sa("complete"): {("project", PROJECT, DATASTORE), ("project", PROJECT, TRACE)},
        sa("aggregate"): {
            ("project", PROJECT, DATASTORE),
            ("project", PROJECT, TRACE),
            ("bucket", RESULTS, OBJECT_USER),
            ("topic", "batch-done", PUBLISHER),
            ("topic", "webhooks", PUBLISHER),
        },
        # Datastore: the worker renews its call's lease (and learns of a cancel) in Firestore.
        sa("worker"): {
            ("project", PROJECT, DATASTORE),
            ("bucket", RESULTS, OBJECT_USER),
            ("topic", "job-done", PUBLISHER),
        },
        sa("pubsub-push"): {("run", SUBMIT, INVOKER), ("run", DISPATCH, INVOKER), ("run", COMPLETE, INVOKER)},
        sa("eventarc"): {("project", PROJECT, "roles/eventarc.eventReceiver"), ("run", AGGREGATE, INVOKER)},
        sa("scheduler"): {("run", SUBMIT, INVOKER)},
        PUBSUB_AGENT: {
            *(
                ("topic", f"{s}-dead-letter", PUBLISHER)
                for s in ("dispatch-submitted", "complete-job-done", "complete-webhooks")
            ),
            ("topic", "submit-bucket-events-dead-letter", PUBLISHER),
            ("topic", "submit-batch-done-dead-letter", PUBLISHER),
            ("subscription", "dispatch-submitted", SUBSCRIBER),
            ("subscription", "complete-job-done", SUBSCRIBER),
            ("subscription", "complete-webhooks", SUBSCRIBER),
            ("subscription", "submit-bucket-events", SUBSCRIBER),
            ("subscription", "submit-batch-done", SUBSCRIBER),
            ("service-account", sa_resource("pubsub-push"), "roles/iam.serviceAccountTokenCreator"),
            ("service-account", sa_resource("eventarc"), "roles/iam.serviceAccountTokenCreator"),
        },
        STORAGE_AGENT: {("topic", "bucket-events", PUBLISHER)},
        f"principalSet://iam.googleapis.com/{worker_pool}/attribute.app_name/omtx-hub": {
            ("service-account", sa_resource("worker"), "roles/iam.workloadIdentityUser")
        },
    }
    assert grants(deployed) == expected


def test_no_basic_or_admin_roles(deployed: Deployed) -> None:
    roles = {role for found in grants(deployed).values() for _, _, role in found}
    assert not {r for r in roles if r in {"roles/owner", "roles/editor", "roles/viewer"} or r.endswith("admin")}


def test_private_stack_has_no_public_member_anywhere(deployed: Deployed) -> None:
    assert not set(grants(deployed)) & PUBLIC
    assert deployed.warnings == []


def test_public_api_opens_only_submit(deployed_public: Deployed) -> None:
    public = {(m, g) for m, found in grants(deployed_public).items() if m in PUBLIC for g in found}
    assert public == {("allUsers", ("run", SUBMIT, INVOKER))}
    assert grants(deployed_public)["group:chemists@example.com"] == {("run", SUBMIT, INVOKER)}
    # Its unauthenticated internal routes are called out, not silently opened.
    assert any("/internal/reconcile" in w for w in deployed_public.warnings)


def test_only_the_api_takes_internet_traffic_and_iam_is_always_checked(deployed_public: Deployed) -> None:
    for service in deployed_public.of("gcp:cloudrunv2/service:Service"):
        assert service.inputs["invokerIamDisabled"] is False
        expected = "INGRESS_TRAFFIC_ALL" if service.name == "submit" else "INGRESS_TRAFFIC_INTERNAL_ONLY"
        assert service.inputs["ingress"] == expected, service.name


def test_no_public_bucket(deployed_public: Deployed) -> None:
    buckets = deployed_public.of("gcp:storage/bucket:Bucket")
    assert {b.inputs["name"] for b in buckets} == {INPUTS, RESULTS}
    for bucket in buckets:
        assert bucket.inputs["uniformBucketLevelAccess"] is True  # no object ACLs
        assert bucket.inputs["publicAccessPrevention"] == "enforced"
    assert not [r for r in deployed_public.resources if "ACL" in r.type or "AccessControl" in r.type]
