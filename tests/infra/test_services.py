"""Cloud Run: one image, one entry point per service, sizing from config, settings that name
what the program created."""

import math
from typing import Any

import main
from omtx.devstack.stack import SIGNATURES
from omtx.settings import SERVICES, Settings
from omtx_infra.config import DEFAULT_SERVICES
from tests.infra.program import PROJECT, Deployed, deploy

SERVICE = "gcp:cloudrunv2/service:Service"
# How the Pulumi wire format marks a secret value (pulumi/runtime/rpc.py).
SECRET_KEY, SECRET_SIG = "4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270"


def container(service: Any) -> dict[str, Any]:
    (only,) = service.inputs["template"]["containers"]
    return dict(only)


def env(service: Any) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueSource")) for e in container(service)["envs"]}


def test_all_services_run_the_one_image(deployed: Deployed) -> None:
    services = deployed.of(SERVICE)
    assert {s.name for s in services} == set(SERVICES)
    images = {container(s)["image"] for s in services}
    assert images == {f"europe-west1-docker.pkg.dev/{PROJECT}/omtx/omtx-hub:20261130"} == {deployed.exports["image"]}


def test_each_service_picks_its_entry_point(deployed: Deployed) -> None:
    for service in deployed.of(SERVICE):
        variables = env(service)
        target = variables["FUNCTION_TARGET"]
        assert target == service.name and callable(getattr(main, target))  # what the image's main.py serves
        assert variables["FUNCTION_SIGNATURE_TYPE"] == SIGNATURES[service.name]  # as the local stack runs it
        assert service.inputs["template"]["serviceAccount"] == f"omtx-{service.name}@{PROJECT}.iam.gserviceaccount.com"


def test_sizing_follows_the_config(deployed: Deployed) -> None:
    custom = deploy({"omtx-hub:services": '{"aggregate": {"memory": "8Gi", "maxInstances": 3}}'})
    for stack, overrides in ((deployed, {}), (custom, {"memory": "8Gi", "max_instances": 3})):
        for service in stack.of(SERVICE):
            expected = DEFAULT_SERVICES[service.name].model_copy(
                update=overrides if service.name == "aggregate" else {}
            )
            template = service.inputs["template"]
            assert template["maxInstanceRequestConcurrency"] == expected.concurrency
            assert template["timeout"] == f"{expected.timeout_s}s"
            assert template["scaling"] == {
                "minInstanceCount": expected.min_instances,
                "maxInstanceCount": expected.max_instances,
            }
            assert container(service)["resources"]["limits"] == {"cpu": expected.cpu, "memory": expected.memory}
            # gunicorn serves as many requests at once as Cloud Run sends
            variables = env(service)
            assert variables["WORKERS"] == str(expected.workers)
            assert int(variables["THREADS"]) == math.ceil(expected.concurrency / expected.workers)


def test_settings_name_what_the_program_created(deployed: Deployed) -> None:
    workers = dict(deployed.exports["modalWorkerSecret"])
    del workers["OMTX_GCP_CREDENTIAL_CONFIG"]
    for service in deployed.of(SERVICE):
        omtx_env = {k: v for k, v in env(service).items() if k.startswith("OMTX_")}
        assert omtx_env == workers  # services and Modal workers run with the same settings
        settings = Settings.model_validate({k.removeprefix("OMTX_").lower(): v for k, v in omtx_env.items()})
        assert settings.executor == "modal" and settings.project == PROJECT
        buckets = {b.inputs["name"] for b in deployed.of("gcp:storage/bucket:Bucket")}
        assert {settings.inputs_bucket, settings.results_bucket} == buckets
        topics = {t.inputs["name"] for t in deployed.of("gcp:pubsub/topic:Topic")}
        assert {getattr(settings, f) for f in Settings.model_fields if f.startswith("topic_")} <= topics


def test_only_dispatch_gets_the_modal_token(deployed: Deployed) -> None:
    for service in deployed.of(SERVICE):
        secrets = {k: v for k, v in env(service).items() if k.startswith("MODAL_")}
        if service.name == "dispatch":
            assert secrets == {
                "MODAL_TOKEN_ID": {"secretKeyRef": {"secret": "modal-token-id", "version": "latest"}},
                "MODAL_TOKEN_SECRET": {"secretKeyRef": {"secret": "modal-token-secret", "version": "latest"}},
            }
        else:
            assert secrets == {}
    versions = [v.inputs["secretData"] for v in deployed.of("gcp:secretmanager/secretVersion:SecretVersion")]
    # Sent as Pulumi secrets: encrypted in the state, masked in every output.
    # (registered concurrently: compare without order)
    assert sorted(versions, key=lambda v: v["value"]) == [
        {SECRET_KEY: SECRET_SIG, "value": "ak-test"},
        {SECRET_KEY: SECRET_SIG, "value": "as-test"},
    ]
