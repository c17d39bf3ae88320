"""The API the console added, against the emulators: the session cookie (and its CSRF header),
`GET /v1/models`, `GET /v1/usage` and the streamed structures zip. The session tests run the
submit app in this process with auth=api_key, as test_auth does; the rest use the stack."""

import io
import uuid
import zipfile

import pytest
import requests
from functions_framework import create_app

from omtx.api.access import CONSOLE_HEADER, SESSION_COOKIE
from omtx.gcp import storage
from omtx.gcp.firestore import jobs as job_store
from omtx.gcp.firestore import tenants
from omtx.predictors.registry import MODELS
from omtx.settings import get_settings
from omtx.usecases.submit import estimate
from tests.integration.conftest import wait_for
from tests.integration.helpers import batch_request
from tests.integration.test_auth import SOURCE, create_key

pytestmark = pytest.mark.integration
FINAL = {"completed", "completed_with_failures", "failed", "cancelled"}


@pytest.fixture
def keyed(settings, monkeypatch):
    monkeypatch.setenv("OMTX_AUTH", "api_key")
    get_settings.cache_clear()
    return lambda: create_app("submit", str(SOURCE), "http").test_client()


def test_a_session_cookie_stands_in_for_the_key_and_guards_against_csrf(keyed, tenant_names):
    acme, globex = tenant_names
    browser, other = keyed(), keyed()
    assert browser.post("/ui/session", json={"api_key": "omtx_000000000000_" + "x" * 43}).status_code == 401
    assert browser.get("/v1/batches").status_code == 401  # no cookie was set by the refusal

    signed_in = browser.post("/ui/session", json={"api_key": create_key(acme, "pro")})
    assert signed_in.status_code == 200 and signed_in.json == {"tenant": acme, "tier": "pro", "auth": "api_key"}
    cookie = signed_in.headers["Set-Cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert browser.get("/ui/session").json["tenant"] == acme

    # A state-changing request on the cookie alone is what a cross-site form would send: refused
    refused = browser.post("/v1/batches", json=batch_request(2))
    assert refused.status_code == 403 and CONSOLE_HEADER in refused.json["message"]
    created = browser.post("/v1/batches", json=batch_request(2, name="acme-own"), headers={CONSOLE_HEADER: "1"})
    assert created.status_code == 202, created.json
    batch_id = created.json["batch_id"]
    assert [b["batch_id"] for b in browser.get("/v1/batches").json["batches"]] == [batch_id]

    other.post("/ui/session", json={"api_key": create_key(globex)})
    assert other.get("/v1/batches").json["batches"] == []
    assert other.get(f"/v1/batches/{batch_id}").status_code == 404
    assert other.delete(f"/v1/batches/{batch_id}", headers={CONSOLE_HEADER: "1"}).status_code == 404

    assert browser.delete("/ui/session").status_code == 204
    assert browser.get("/v1/batches").status_code == 401


@pytest.fixture
def tenant_names():
    suffix = uuid.uuid4().hex[:8]
    return f"acme-{suffix}", f"globex-{suffix}"


def test_models_describe_every_registered_model_with_its_schema_and_units(settings):
    models = requests.get(f"{settings.api_base_url}/v1/models", timeout=10).json()["models"]
    assert [m["name"] for m in models] == list(MODELS)
    for info in models:
        spec = MODELS[info["name"]]
        assert info["params_schema"] == spec.params.model_json_schema()
        assert info["needs_structure"] == spec.needs_structure and info["hardware"] == spec.hardware
        # the primary metric comes first, with its unit (vina: kcal/mol)
        assert info["metrics"][0]["name"] == spec.primary_metric
    vina = next(m for m in models if m["name"] == "vina")
    assert vina["metrics"][0]["unit"] == "kcal/mol" and "C" in vina["limits"]["allowed_elements"]


def test_usage_adds_up_the_tenants_batches_per_day_and_model(keyed, tenant_names):
    tenant, _ = tenant_names
    client = keyed()
    key = create_key(tenant, "pro", "--budget-gpu-s", "500")
    headers = {"X-API-Key": key}
    assert client.get("/v1/usage", headers=headers).json["totals"]["jobs"] == 0
    for n in (3, 5):
        assert client.post("/v1/batches", json=batch_request(n), headers=headers).status_code == 202
    usage = client.get("/v1/usage?days=7", headers=headers).json
    expected = estimate(MODELS["rdkit_props"], 3).compute_seconds + estimate(MODELS["rdkit_props"], 5).compute_seconds
    assert usage["tenant"] == tenant and usage["totals"]["batches"] == 2 and usage["totals"]["jobs"] == 8
    assert usage["totals"]["compute_seconds"] == pytest.approx(expected)
    (model,) = usage["by_model"]
    (day,) = usage["by_day"]
    assert model["model"] == "rdkit_props" and model["jobs"] == day["jobs"] == 8
    budget = tenants.get_budget(tenant)
    assert usage["budget"] == {
        "budget_gpu_s": 500.0,
        "spent_gpu_s": budget.spent_gpu_s,
        "left_gpu_s": 500.0 - budget.spent_gpu_s,
    }
    for days in ("0", "367", "x"):
        assert client.get(f"/v1/usage?days={days}", headers=headers).status_code == 422


def test_the_structures_zip_holds_every_jobs_files_under_safe_folder_names(settings):
    api = settings.api_base_url
    request = batch_request(3)
    request["ligands"][1]["name"] = "../../etc/passwd"
    batch_id = requests.post(f"{api}/v1/batches", json=request, timeout=30).json()["batch_id"]
    wait_for(lambda: requests.get(f"{api}/v1/batches/{batch_id}", timeout=10).json()["status"] in FINAL, 120)
    response = requests.get(f"{api}/v1/batches/{batch_id}/exports/structures.zip", timeout=60)
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    expected = {}
    for job in job_store.iter_jobs(batch_id):
        for name, uri in job.files.items():
            if name not in {"results.json", "logs.txt"}:
                expected[name, job.index] = storage.get_bytes(uri)
    names = archive.namelist()
    assert len(names) == len(expected) > 0
    assert all(".." not in n.split("/") and not n.startswith("/") for n in names)
    assert "000001_etc_passwd/structure.sdf" in names
    for member in names:
        folder, name = member.split("/")
        assert archive.read(member) == expected[name, int(folder[:6])]
    missing = requests.get(f"{api}/v1/batches/b0000000000000000/exports/structures.zip", timeout=10)
    assert missing.status_code == 404
