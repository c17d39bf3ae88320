"""The submission front door on the running stack: API contract rules and CSV drops."""

import json

import pytest
import requests

from omtx.domain import utcnow
from omtx.gcp import storage
from omtx.gcp.clients import storage_client
from omtx.gcp.firestore import batches as batch_store
from tests.integration.conftest import wait_for
from tests.integration.helpers import CDK2_FRAGMENT, batch_request

pytestmark = pytest.mark.integration


def post(settings, path, body, **kw):
    return requests.post(f"{settings.api_base_url}{path}", json=body, timeout=60, **kw)


def test_dry_run_validates_and_estimates_without_creating(settings):
    before = len(batch_store.list_batches("default", limit=1000)[0])
    response = post(settings, "/v1/batches?dry_run=true", batch_request(10))
    assert response.status_code == 200
    body = response.json()
    assert body["dry_run"] and body["batch_id"] is None and body["accepted"] == 10
    assert body["estimate"]["jobs"] == 10 and body["estimate"]["cost_usd"] >= 0
    assert len(batch_store.list_batches("default", limit=1000)[0]) == before
    bad = post(settings, "/v1/batches?dry_run=true", batch_request(2) | {"ligands": [{"smiles": "C1C"}]})
    assert bad.status_code == 422


def test_skip_runs_valid_rows_and_lists_rejected_ones(settings):
    body = batch_request(3) | {"on_invalid": "skip"}
    body["ligands"].insert(1, {"name": "broken", "smiles": "C1CC"})
    response = post(settings, "/v1/batches", body)
    assert response.status_code == 202
    accepted = response.json()
    assert (accepted["accepted"], accepted["rejected"]) == (3, 1)
    assert accepted["rejected_rows"][0]["loc"] == ["ligands", 1, "smiles"]
    batch = batch_store.get_batch(accepted["batch_id"])
    assert (batch.total, batch.rejected) == (3, 1)
    stored = json.loads(storage.get_bytes(batch.input_uri))
    assert stored["rejected"][0]["input"] == "C1CC"


def test_idempotency_key_replays_and_conflicts(settings):
    key = {"Idempotency-Key": "test-key-" + utcnow().isoformat()}
    first = post(settings, "/v1/batches", batch_request(2), headers=key)
    again = post(settings, "/v1/batches", batch_request(2), headers=key)
    assert first.status_code == 202 and again.status_code == 200
    assert again.json()["batch_id"] == first.json()["batch_id"] and again.json()["replayed"] is True
    other = post(settings, "/v1/batches", batch_request(3), headers=key)
    assert other.status_code == 409 and "different request body" in other.json()["message"]


def test_one_prediction_is_a_batch_of_one(settings):
    response = post(
        settings,
        "/v1/predictions",
        {"protein": {"sequence": CDK2_FRAGMENT}, "ligand": {"name": "aspirin", "smiles": "CC(=O)Oc1ccccc1C(=O)O"}},
    )
    assert response.status_code == 202
    batch_id = response.json()["batch_id"]
    done = wait_for(lambda: (b := batch_store.get_batch(batch_id)) and b.status.is_final and b, timeout_s=60)
    assert done.total == 1 and done.status == "completed"


def test_body_size_limit_is_413(settings):
    huge = "C" * (settings.max_body_bytes + 10)
    response = requests.post(
        f"{settings.api_base_url}/v1/batches", data=huge, timeout=60, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413


def drop(settings, name: str, data: bytes) -> tuple[str, int]:
    blob = storage_client().bucket(settings.inputs_bucket).blob(f"drops/{name}")
    blob.upload_from_string(data, content_type="text/csv")
    return f"drops/{name}", blob.generation


def result_of(settings, name: str, generation: int):
    blob = storage_client().bucket(settings.inputs_bucket).blob(f"drops/{name}.result.json")

    def ready():
        if not blob.exists():
            return None
        body = json.loads(blob.download_as_bytes())
        return body if body["generation"] == str(generation) else None

    return wait_for(ready, timeout_s=60)


def test_csv_drop_becomes_a_batch_once(settings, subscribe):
    csv_text = (
        f"# protein: {CDK2_FRAGMENT}\n# name: dropped screen\n# on_invalid: skip\n"
        "Compound_ID,SMILES\nASP,CC(=O)Oc1ccccc1C(=O)O\nBAD,C1CC\nCAF,Cn1cnc2c1c(=O)n(C)c(=O)n2C\n"
    )
    name = f"screen-{utcnow().timestamp():.0f}.csv"
    object_name, generation = drop(settings, name, csv_text.encode("utf-8-sig").replace(b"\n", b"\r\n"))
    result = result_of(settings, name, generation)
    assert result["status"] == "accepted" and (result["accepted"], result["rejected"]) == (2, 1)
    assert result["errors"][0]["line"] == 6 and result["errors"][0]["input"] == "C1CC"
    batch_id = result["batch_id"]
    wait_for(lambda: (b := batch_store.get_batch(batch_id)) and b.status.is_final, timeout_s=60)

    # The same generation's notification, redelivered: no second batch.
    from omtx.usecases.drops import Notification, ingest

    assert (
        ingest(
            Notification(
                bucket=settings.inputs_bucket,
                object_id=object_name,
                generation=str(generation),
                event_type="OBJECT_FINALIZE",
            )
        )
        == "accepted"
    )
    assert (
        json.loads(storage.get_bytes(f"gs://{settings.inputs_bucket}/drops/{name}.result.json"))["batch_id"] == batch_id
    )
    named = [b for b in batch_store.list_batches("default", limit=1000)[0] if b.name == "dropped screen"]
    assert [b.batch_id for b in named] == [batch_id]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("notes.pdf", b"%PDF-1.4", "only .csv"),
        ("empty.csv", b"", "empty"),
        ("undecodable.csv", b"# protein: ACDEFGHIKLMN\nsmiles\nCCO\n" + b"caf\x81\n", "nor Windows-1252"),
        ("binary.sdf", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
    ],
)
def test_bad_drops_get_a_result_file_not_a_crash_loop(settings, subscribe, name, data, message):
    dead = subscribe("submit-bucket-events-dead-letter")
    _, generation = drop(settings, name, data)
    result = result_of(settings, name, generation)
    assert result["status"] == "error" and message in result["error"]
    assert dead.drain(1.0) == []


def test_rejected_drop_lists_rows_with_lines(settings):
    _, generation = drop(settings, "rejected.csv", f"# protein: {CDK2_FRAGMENT}\nsmiles\nCCO\nC1CC\n".encode())
    result = result_of(settings, "rejected.csv", generation)
    assert result["status"] == "rejected" and result["errors"][0]["line"] == 4
