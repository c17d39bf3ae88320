"""Results views on the local stack: a batch read while it runs (Firestore) and again once it is
final (its in-memory table) gives the same rows in the same order, page by page, and the cursors
of one source continue on the other; exports and facets of a view; the read API's 400s."""

from __future__ import annotations

import csv
import io
import random
import time
from typing import Any

import pyarrow.parquet as pq
import pytest
import requests

from tests.integration.conftest import wait_for
from tests.integration.helpers import batch_request

pytestmark = pytest.mark.integration

VIEWS: list[dict[str, str]] = [
    {},
    {"order_by": "-qed"},
    {"order_by": "qed"},
    {"order_by": "opt"},  # a metric most jobs lack: NULLs last, index order among them
    {"order_by": "-opt"},
    {"order_by": "lipinski_pass"},
    {"order_by": "-mw", "min_qed": "0.3", "max_mw": "400"},
    {"lipinski_pass": "true", "order_by": "-qed"},
    {"lipinski_pass": "false", "order_by": "lipinski_pass"},
    {"status": "failed"},
    {"q": "zinc0000001"},
    {"q": "c1cc", "order_by": "-hbd"},
    {"fields": "ligand_name,qed", "order_by": "-opt"},
    {"order_by": "-ligand_name", "min_hbd": "1"},
    {"order_by": "duration_s"},
    # ranges on fields other than the sort's are tested after the read (no composite index each)
    {"min_qed": "0.5"},
    {"status": "succeeded", "min_mw": "300", "max_qed": "0.6"},
    {"lipinski_pass": "true", "max_mw": "350", "order_by": "qed"},
    {"order_by": "-index", "min_qed": "0.2"},  # the index is its own tiebreak
]


def metrics(index: int, rng: random.Random) -> dict[str, Any]:
    found: dict[str, Any] = {
        "qed": round(rng.random(), 1),  # coarse: many ties, broken by the job index
        "mw": round(rng.uniform(100, 600), 2),
        "lipinski_pass": rng.random() < 0.6,
        "hbd": rng.randint(0, 4),
        "inchikey": "MODELS-OWN",  # collides with the job's field: a metric all the same
        "samples": {"best": index % 3},
    }
    if index % 4 == 0:
        found["opt"] = round(rng.random(), 3)
    return found


def get(api: str, path: str, **params: str) -> requests.Response:
    return requests.get(f"{api}{path}", params=params, timeout=30)


def every_page(api: str, batch_id: str, view: dict[str, str], limit: int = 7) -> tuple[list[dict], set[str]]:
    rows, sources, cursor = [], set(), None
    while True:
        page = get(
            api, f"/v1/batches/{batch_id}/results", limit=str(limit), **view, **({"cursor": cursor} if cursor else {})
        )
        assert page.status_code == 200, page.text
        sources.add(page.headers["OMTX-Results-Source"])
        rows += page.json()["jobs"]
        if (cursor := page.json()["next_cursor"]) is None:
            return rows, sources


@pytest.fixture(scope="module")
def seeded(stack, stack_env):
    import os

    from omtx.devstack import seed
    from omtx.gcp.clients import reset_clients
    from omtx.settings import get_settings

    os.environ.update(stack_env | stack.settings.emulator_env())
    get_settings.cache_clear()
    reset_clients()
    return seed.running_batch(60, "rdkit_props", metrics=metrics, fail_every=7)


def test_both_sources_give_the_same_rows_in_the_same_order(settings, seeded):
    from omtx.devstack import seed

    api, batch_id = settings.api_base_url, seeded.batch_id
    running = {}
    for n, view in enumerate(VIEWS):
        rows, sources = every_page(api, batch_id, view)
        assert sources == {"firestore"}, view
        running[n] = rows
    assert len(running[0]) == 60 and [r["index"] for r in running[0]] == list(range(60))
    # half-read views whose cursors must carry on after the batch finished
    firsts = {}
    for n in (1, 3, 6, 12):
        first = get(api, f"/v1/batches/{batch_id}/results", limit="7", **VIEWS[n]).json()
        firsts[n] = (first["jobs"], first["next_cursor"])
    live_facets = get(api, f"/v1/batches/{batch_id}/facets", min_qed="0.2").json()
    exported = [{"order_by": "-opt"}, {"q": "c1cc", "fields": "ligand_name,hbd,samples"}]
    live_files = [get(api, f"/v1/batches/{batch_id}/results.csv", **view).content for view in exported]

    seed.finish(seeded)
    for n, view in enumerate(VIEWS):
        rows, sources = every_page(api, batch_id, view)
        assert sources == {"table"}, view
        assert rows == running[n], view
    for n, (jobs, cursor) in firsts.items():
        rest = get(api, f"/v1/batches/{batch_id}/results", limit="1000", cursor=cursor, **VIEWS[n])
        assert rest.headers["OMTX-Results-Source"] == "table"
        assert jobs + rest.json()["jobs"] == running[n], VIEWS[n]
    for view, live_file in zip(exported, live_files, strict=True):
        table_file = get(api, f"/v1/batches/{batch_id}/results.csv", **view).content
        assert table_file.splitlines() == live_file.splitlines(), view
    table_facets = get(api, f"/v1/batches/{batch_id}/facets", min_qed="0.2").json()
    assert table_facets | {"status": "x"} == live_facets | {"status": "x"}


def test_the_views_order_and_filters_are_what_they_say(settings, seeded):
    api, batch_id = settings.api_base_url, seeded.batch_id
    rows, _ = every_page(api, batch_id, {"order_by": "-opt"})
    with_value = [r for r in rows if "opt" in r["metrics"]]
    assert rows[: len(with_value)] == with_value, "NULLs last"
    keys = [(-r["metrics"]["opt"], r["index"]) for r in with_value]
    assert keys == sorted(keys)
    tail = [r["index"] for r in rows[len(with_value) :]]
    assert tail == sorted(tail) and len(rows) == 60
    rows, _ = every_page(api, batch_id, {"order_by": "-mw", "min_qed": "0.3", "max_mw": "400"})
    assert rows and all(r["metrics"]["qed"] >= 0.3 and r["metrics"]["mw"] <= 400 for r in rows)
    assert all(r["metrics"]["lipinski_pass"] for r in every_page(api, batch_id, {"lipinski_pass": "true"})[0])
    projected = get(api, f"/v1/batches/{batch_id}/results", fields="ligand_name,qed", limit="3").json()["jobs"]
    assert all(set(r) == {"job_id", "index", "ligand_name", "metrics", "links"} for r in projected)
    assert all(set(r["metrics"]) <= {"qed"} for r in projected)
    found = every_page(api, batch_id, {"q": "ZINC0000001"})[0]  # any case
    assert [r["ligand_name"] for r in found] == [f"ZINC{i:08d}" for i in range(10, 20)]
    failed = every_page(api, batch_id, {"status": "failed"})[0]
    assert [r["index"] for r in failed] == [i for i in range(60) if (i + 1) % 7 == 0]
    assert all(r["error"] == "seeded failure" and r["metrics"] == {} for r in failed)
    row = rows[0]
    assert row["executor"] == "local" and row["attempts"] == 1 and row["retries"] == 0
    assert set(row["links"]) == {"self", "metadata.json", "results.json"}


def test_an_export_of_a_view_has_exactly_its_rows(settings, seeded):
    api, batch_id = settings.api_base_url, seeded.batch_id
    view = {"order_by": "-qed", "min_hbd": "1", "fields": "ligand_name,qed,samples"}
    rows, _ = every_page(api, batch_id, view)
    response = get(api, f"/v1/batches/{batch_id}/results.csv", **view)
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(b"\xef\xbb\xbfjob_id,index,ligand_name,qed,samples\r\n")
    table = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [r["job_id"] for r in table] == [r["job_id"] for r in rows]
    assert [float(r["qed"]) for r in table] == [r["metrics"]["qed"] for r in rows]
    assert table[0]["samples"].startswith('{"best"')
    parquet = pq.read_table(io.BytesIO(get(api, f"/v1/batches/{batch_id}/results.parquet", **view).content))
    assert parquet.column("job_id").to_pylist() == [r["job_id"] for r in rows]
    assert parquet.column_names == ["job_id", "index", "ligand_name", "qed", "samples"]
    empty = get(api, f"/v1/batches/{batch_id}/results.parquet", min_qed="2")
    assert pq.read_table(io.BytesIO(empty.content)).num_rows == 0


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"order_by": "qd"}, "order_by"),
        ({"min_qd": "1"}, "min_qd"),
        ({"max_formula": "1"}, "max_formula"),
        ({"minqed": "0.5"}, "minqed"),
        ({"qed": "0.5"}, "qed"),
        ({"lipinski_pass": "yes"}, "lipinski_pass"),
        ({"fields": "ligand_name,nope"}, "fields"),
        ({"limit": "1001"}, "limit"),
    ],
)
def test_unknown_names_are_a_400_that_lists_the_metrics(settings, seeded, params, names):
    response = get(settings.api_base_url, f"/v1/batches/{seeded.batch_id}/results", **params)
    assert response.status_code == 400, response.text
    detail = response.json()["detail"][0]
    assert detail["loc"] == ["query", names]
    if names not in ("lipinski_pass", "limit", "max_formula", "qed"):
        assert "qed (number)" in detail["msg"] and "lipinski_pass (boolean)" in detail["msg"]


def test_a_cursor_of_another_query_or_batch_is_refused(settings, seeded):
    api = settings.api_base_url
    first = get(api, f"/v1/batches/{seeded.batch_id}/results", order_by="-qed", limit="2").json()
    other = get(api, f"/v1/batches/{seeded.batch_id}/results", order_by="qed", cursor=first["next_cursor"])
    assert other.status_code == 400 and "another query" in other.json()["message"]
    damaged = first["next_cursor"][:-1] + ("0" if first["next_cursor"][-1] != "0" else "1")
    assert get(api, f"/v1/batches/{seeded.batch_id}/results", order_by="-qed", cursor=damaged).status_code == 400


def test_a_replay_after_the_batch_finished_answers_its_status_and_the_job_says_who_ran_it(settings):
    api = settings.api_base_url
    key = {"Idempotency-Key": f"views-{time.time_ns()}"}
    body = batch_request(3, model="instant")
    first = requests.post(f"{api}/v1/batches", json=body, headers=key, timeout=30).json()
    assert first["status"] == "queued"
    wait_for(lambda: get(api, f"/v1/batches/{first['batch_id']}").json()["status"] == "completed", timeout_s=90)
    again = requests.post(f"{api}/v1/batches", json=body, headers=key, timeout=30).json()
    assert again["replayed"] is True and again["status"] == "completed"
    batch = get(api, f"/v1/batches/{first['batch_id']}").json()
    rate = batch["jobs_per_s"]
    time.sleep(1.1)
    assert get(api, f"/v1/batches/{first['batch_id']}").json()["jobs_per_s"] == rate, "frozen at the finish"


def test_a_deleted_batch_has_no_results(settings):
    from omtx.devstack import seed

    batch = seed.finish(seed.running_batch(5))
    api = settings.api_base_url
    assert get(api, f"/v1/batches/{batch.batch_id}/results").headers["OMTX-Results-Source"] == "table"
    assert requests.delete(f"{api}/v1/batches/{batch.batch_id}", timeout=30).status_code == 204
    assert get(api, f"/v1/batches/{batch.batch_id}/results").status_code == 404
    assert get(api, f"/v1/batches/{batch.batch_id}/results.csv").status_code == 404
