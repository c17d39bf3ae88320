"""Auth and tenancy against the emulators: the submit service's WSGI app runs in this process with
auth=api_key (the session stack keeps auth off for everyone else) and keys made by the CLI."""

import re
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
from functions_framework import create_app
from google.cloud import pubsub_v1
from typer.testing import CliRunner

from omtx.cli.main import app as cli
from omtx.gcp.clients import firestore_client
from omtx.gcp.firestore import batches as batch_store
from omtx.gcp.firestore import finalization, tenants
from omtx.settings import get_settings
from omtx.tenancy import keys, limits
from tests.integration.conftest import wait_for
from tests.integration.helpers import CDK2_FRAGMENT, batch_request

pytestmark = pytest.mark.integration
SOURCE = Path(__file__).resolve().parents[2] / "services" / "submit" / "main.py"
KEY_LINE = re.compile(r"^omtx_[0-9a-f]{12}_\S{43}$", re.MULTILINE)


def create_key(tenant: str, tier: str = "free", *extra: str) -> str:
    result = CliRunner().invoke(cli, ["keys", "create", "--tenant", tenant, "--tier", tier, *extra])
    assert result.exit_code == 0, result.output
    return KEY_LINE.search(result.output).group(0)


def bearer(key):
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def keyed(settings, monkeypatch):
    """The submit app with keys required; free keys get 30 requests a minute."""
    monkeypatch.setenv("OMTX_AUTH", "api_key")
    monkeypatch.setenv("OMTX_RATE_FREE_PER_MIN", "30")
    get_settings.cache_clear()
    return create_app("submit", str(SOURCE), "http").test_client()


@pytest.fixture
def tenant_names():
    suffix = uuid.uuid4().hex[:8]
    return f"acme-{suffix}", f"globex-{suffix}"


def test_keys_are_shown_once_stored_hashed_listed_and_revoked(keyed, tenant_names):
    tenant, _ = tenant_names
    key = create_key(tenant, "pro", "--label", "ci")
    key_id = keys.key_id_of(key)
    stored = firestore_client().collection("api_keys").document(key_id).get().to_dict()
    assert stored["hash"] == keys.key_hash(key) and key not in str(stored)
    listing = CliRunner().invoke(cli, ["keys", "list", "--tenant", tenant])
    assert key_id in listing.output and key not in listing.output and stored["hash"] not in listing.output
    assert keyed.get("/v1/batches", headers=bearer(key)).status_code == 200
    assert keyed.get("/v1/batches", headers={"X-API-Key": key}).status_code == 200
    wrong = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    refused = keyed.get("/v1/batches", headers=bearer(wrong))
    assert refused.status_code == 401 and refused.get_json()["message"] == "the API key is not valid"

    revoked = CliRunner().invoke(cli, ["keys", "revoke", key_id])
    assert revoked.exit_code == 0, revoked.output
    after = keyed.get("/v1/batches", headers=bearer(key))
    assert after.status_code == 401 and "revoked" in after.get_json()["message"]
    assert CliRunner().invoke(cli, ["keys", "revoke", "0123456789ab"]).exit_code == 1


def test_a_tenant_sees_and_touches_only_its_own_batches(keyed, tenant_names, settings):
    acme, globex = tenant_names
    a, g = create_key(acme), create_key(globex)
    created = keyed.post("/v1/batches", json=batch_request(2, cache=False), headers=bearer(a))
    assert created.status_code == 202, created.get_json()
    b = created.get_json()["batch_id"]
    assert batch_store.get_batch(b).tenant == acme
    wait_for(lambda: batch_store.get_batch(b).status == "completed" and finalization.finalization_done(b), timeout_s=60)
    job_id = keyed.get(f"/v1/batches/{b}/results", headers=bearer(a)).get_json()["jobs"][0]["job_id"]
    foreign = [
        ("get", f"/v1/batches/{b}"),
        ("get", f"/v1/batches/{b}/results"),
        ("get", f"/v1/batches/{b}/exports/summary.json"),
        ("get", f"/v1/batches/{b}/jobs/{job_id}"),
        ("get", f"/v1/batches/{b}/jobs/{job_id}/files/results.json"),
        ("post", f"/v1/batches/{b}/cancel"),
        ("post", f"/v1/batches/{b}/retry"),
        ("delete", f"/v1/batches/{b}"),
    ]
    for method, path in foreign:
        assert getattr(keyed, method)(path, headers={"X-API-Key": g}).status_code == 404, path
    for _, path in foreign[:5]:
        assert keyed.get(path, headers={"X-API-Key": a}).status_code == 200, path
    assert b in [x["batch_id"] for x in keyed.get("/v1/batches", headers=bearer(a)).get_json()["batches"]]
    assert keyed.get("/v1/batches", headers=bearer(g)).get_json()["batches"] == []
    # The local stack's anonymous tenant ("default") does not see it either.
    assert requests.get(f"{settings.api_base_url}/v1/batches/{b}", timeout=10).status_code == 404
    # Deleted by its owner; a repeated delete is 204 for the owner and 404 for anyone else.
    assert keyed.delete(f"/v1/batches/{b}", headers=bearer(a)).status_code == 204
    assert keyed.delete(f"/v1/batches/{b}", headers=bearer(a)).status_code == 204
    assert keyed.delete(f"/v1/batches/{b}", headers=bearer(g)).status_code == 404


def test_the_rate_limit_is_exact_under_concurrency_and_says_when_to_retry(keyed, tenant_names):
    key = create_key(tenant_names[0])  # free: 30 a minute here
    _, left = limits.window(time.time())
    if left < 10:  # the burst must not straddle two windows
        time.sleep(left + 0.1)
    codes, retry_after = [], []

    def call():
        response = keyed.application.test_client().get("/v1/batches", headers=bearer(key))
        codes.append(response.status_code)
        if response.status_code == 429:
            retry_after.append(int(response.headers["Retry-After"]))

    threads = [threading.Thread(target=call) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [200] * 30 + [429] * 10
    assert all(1 <= r <= 60 for r in retry_after)
    # Another key of the same tenant has its own window.
    assert keyed.get("/v1/batches", headers=bearer(create_key(tenant_names[0]))).status_code == 200


@pytest.fixture
def parked(settings, monkeypatch):
    """Batches submitted here are never dispatched (GPU models cannot run on the stack): their
    `submitted` messages go to a topic without subscribers. Cancelled at the end."""
    topic = f"parked-{uuid.uuid4().hex[:8]}"
    publisher = pubsub_v1.PublisherClient()
    publisher.create_topic(name=publisher.topic_path(settings.project, topic))
    monkeypatch.setenv("OMTX_TOPIC_SUBMITTED", topic)
    get_settings.cache_clear()
    created: list[tuple[str, str]] = []
    yield created
    client = create_app("submit", str(SOURCE), "http").test_client()
    for batch_id, key in created:
        assert client.post(f"/v1/batches/{batch_id}/cancel", headers=bearer(key)).status_code == 200
    publisher.delete_topic(topic=publisher.topic_path(settings.project, topic))


def gpu_request():
    one = {"protein": {"sequence": CDK2_FRAGMENT}, "model": "boltz2", "params": {"msa": "none"}}
    return one | {"ligands": [{"name": "aspirin", "smiles": "CC(=O)Oc1ccccc1C(=O)O"}]}


def test_the_gpu_budget_is_never_overspent_and_the_refusal_says_why(keyed, parked, tenant_names):
    tenant = tenant_names[0]
    key = create_key(tenant, "pro", "--budget-gpu-s", "100")
    dry = keyed.post("/v1/batches?dry_run=true", json=gpu_request(), headers=bearer(key)).get_json()
    cost = dry["estimate"]["gpu_seconds"]
    assert cost == 38.0  # one call: 25 s start-up + 13 s for the ligand
    responses = []

    def submit():
        client = keyed.application.test_client()
        responses.append(client.post("/v1/batches", json=gpu_request(), headers=bearer(key)))

    threads = [threading.Thread(target=submit) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    parked += [(r.get_json()["batch_id"], key) for r in responses if r.status_code == 202]
    assert sorted(r.status_code for r in responses) == [202, 202, 402, 402, 402]
    refusal = next(r.get_json() for r in responses if r.status_code == 402)
    assert refusal["error"] == "budget_exceeded" and "38 GPU-seconds" in refusal["message"]
    assert "24 of its 100 left" in refusal["message"]
    assert tenants.get_budget(tenant).spent_gpu_s == pytest.approx(76.0)
    # CPU models are not charged; a dry run is not either.
    assert keyed.post("/v1/batches?dry_run=true", json=gpu_request(), headers=bearer(key)).status_code == 200
    cpu = keyed.post("/v1/batches", json=batch_request(2), headers=bearer(key))
    assert cpu.status_code == 202
    parked.append((cpu.get_json()["batch_id"], key))
    assert tenants.get_budget(tenant).spent_gpu_s == pytest.approx(76.0)


def test_the_operator_status_is_for_admin_keys(keyed, tenant_names, settings):
    free, admin = create_key(tenant_names[0]), create_key(tenant_names[1], "admin")
    assert keyed.get("/v1/admin/status", headers=bearer(free)).status_code == 403
    # A dead letter waiting: counted, and still there after it was counted twice.
    publisher = pubsub_v1.PublisherClient()
    topic = publisher.topic_path(settings.project, "complete-job-done-dead-letter")
    marker = uuid.uuid4().hex
    publisher.publish(topic, b"{}", marker=marker).result()
    for _ in range(2):
        response = keyed.get("/v1/admin/status", headers=bearer(admin))
        assert response.status_code == 200
        body = response.get_json()
        assert body["dead_letters"]["source"] == "peek"
        assert body["dead_letters"]["counts"]["complete-job-done-dead-letter"] >= 1
    assert set(body["jobs_in_flight"]) >= {"rdkit_props", "boltz2"}
    assert isinstance(body["active_batches"], int)
    _take_back(settings, marker)


def _take_back(settings, marker):
    """Acknowledge this test's dead letter, and only it."""
    subscriber = pubsub_v1.SubscriberClient()
    name = subscriber.subscription_path(settings.project, "complete-job-done-dead-letter")
    for _ in range(10):
        received = subscriber.pull(subscription=name, max_messages=100, timeout=5).received_messages
        ours = [m.ack_id for m in received if m.message.attributes.get("marker") == marker]
        others = [m.ack_id for m in received if m.message.attributes.get("marker") != marker]
        if others:
            subscriber.modify_ack_deadline(subscription=name, ack_ids=others, ack_deadline_seconds=0)
        if ours:
            subscriber.acknowledge(subscription=name, ack_ids=ours)
            return
