"""The read side of the HTTPS API against a finished batch on the local stack."""

import csv
import io

import pyarrow.parquet as pq
import pytest
import requests

from tests.integration.conftest import wait_for
from tests.integration.helpers import batch_request, seed_batch

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def finished(stack, stack_env):
    import os

    from omtx.settings import get_settings

    os.environ.update(stack_env | stack.settings.emulator_env())
    get_settings.cache_clear()
    api = stack.settings.api_base_url
    batch_id = requests.post(f"{api}/v1/batches", json=batch_request(12), timeout=30).json()["batch_id"]

    def done():
        body = requests.get(f"{api}/v1/batches/{batch_id}", timeout=10).json()
        return body if body["status"] == "completed" else None

    return api, wait_for(done, timeout_s=90)


def get(api, path, **params):
    return requests.get(f"{api}{path}", params=params, timeout=10)


def test_results_order_filter_and_paginate(finished):
    api, batch = finished
    base = f"/v1/batches/{batch['batch_id']}/results"
    ordered = get(api, base, order_by="-qed").json()["jobs"]
    qeds = [j["metrics"]["qed"] for j in ordered]
    assert len(qeds) == 12 and qeds == sorted(qeds, reverse=True)
    assert [j["metrics"]["mw"] for j in get(api, base, order_by="mw").json()["jobs"]] == sorted(
        j["metrics"]["mw"] for j in ordered
    )
    filtered = get(api, base, min_qed=0.5, max_mw=300).json()["jobs"]
    assert filtered and all(j["metrics"]["qed"] >= 0.5 and j["metrics"]["mw"] <= 300 for j in filtered)
    assert len(filtered) == sum(1 for j in ordered if j["metrics"]["qed"] >= 0.5 and j["metrics"]["mw"] <= 300)

    seen, cursor, pages = [], None, 0
    while True:
        page = get(api, base, limit=5, order_by="-qed", **({"cursor": cursor} if cursor else {})).json()
        seen += [j["job_id"] for j in page["jobs"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and seen == [j["job_id"] for j in ordered]


def test_one_job_its_files_and_the_exports(finished):
    api, batch = finished
    job = get(api, f"/v1/batches/{batch['batch_id']}/results", limit=1).json()["jobs"][0]
    one = get(api, job["links"]["self"]).json()
    assert one["job_id"] == job["job_id"] and one["status"] == "succeeded"
    sdf = get(api, one["links"]["structure.sdf"])
    assert sdf.status_code == 200 and sdf.content.rstrip().endswith(b"$$$$")
    assert get(api, one["links"]["results.json"]).json()["job_id"] == job["job_id"]
    assert get(api, one["links"]["metadata.json"]).json()["model"] == "rdkit_props"

    links = batch["links"]
    rows = list(csv.DictReader(io.StringIO(get(api, links["batch_results.csv"]).content.decode("utf-8-sig"))))
    assert len(rows) == 12
    parquet = pq.read_table(io.BytesIO(get(api, links["batch_results.parquet"]).content))
    assert parquet.num_rows == 12
    report = get(api, links["report.html"])
    assert report.headers["Content-Type"].startswith("text/html") and b"data-structure=" in report.content
    assert get(api, f"/v1/batches/{batch['batch_id']}/exports/nope.txt").status_code == 404


def test_exports_of_an_unfinished_batch_say_why(settings):
    batch, _ = seed_batch(2)
    response = get(settings.api_base_url, f"/v1/batches/{batch.batch_id}/exports/batch_results.csv")
    assert response.status_code == 404 and "when the batch finishes" in response.json()["message"]


def test_list_batches_paginates_and_filters(finished):
    api, batch = finished
    listed = get(api, "/v1/batches", status="completed", limit=1000).json()["batches"]
    assert batch["batch_id"] in [b["batch_id"] for b in listed]
    assert all(b["status"] == "completed" for b in listed)
    first = get(api, "/v1/batches", limit=1).json()
    second = get(api, "/v1/batches", limit=1, cursor=first["next_cursor"]).json()
    assert first["batches"][0]["batch_id"] != second["batches"][0]["batch_id"]
    assert first["batches"][0]["created_at"] >= second["batches"][0]["created_at"]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/batches", {"limit": 0}),
        ("/v1/batches", {"status": "nope"}),
        ("/v1/batches", {"cursor": "bnope"}),
        ("RESULTS", {"min_qed": "abc"}),
        ("RESULTS", {"order_by": "qed;drop"}),
        ("RESULTS", {"cursor": "jnope"}),
        ("RESULTS", {"cursor": "a/b"}),
        ("RESULTS", {"limit": "²"}),
        ("RESULTS", {"min_qed": "nan"}),
        ("RESULTS", {"order_by": "1abc"}),
        ("/v1/batches", {"cursor": "b1/jobs/j1"}),
    ],
)
def test_bad_queries_are_400(finished, path, params):
    api, batch = finished
    path = f"/v1/batches/{batch['batch_id']}/results" if path == "RESULTS" else path
    response = get(api, path, **params)
    assert response.status_code == 400, response.text
    assert response.json()["message"]


def test_openapi_document_is_served(finished):
    api, _ = finished
    doc = get(api, "/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    assert {"/v1/batches", "/v1/batches/{batch_id}/results"} <= set(doc["paths"])
    assert "BatchRequest" in doc["components"]["schemas"]


def test_fast_document_decoding_matches_the_client(finished):
    from omtx.domain import Job
    from omtx.gcp.clients import firestore_client
    from omtx.gcp.firestore import jobs as job_store

    _, batch = finished
    query = firestore_client().collection("batches").document(batch["batch_id"]).collection("jobs").order_by("index")
    expected = [Job.model_validate(snap.to_dict()) for snap in query.stream()]
    assert list(job_store.iter_jobs(batch["batch_id"])) == expected
    assert expected[0].finished_at is not None and expected[0].metrics["qed"] > 0
