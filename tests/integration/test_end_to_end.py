"""A batch through all four services on the emulators, observed like a user and a downstream system."""

import csv
import io
import json

import pyarrow.parquet as pq
import pytest
import requests

from omtx.gcp import storage
from omtx.gcp.firestore import jobs as job_store
from tests.integration.conftest import wait_for
from tests.integration.helpers import batch_request

pytestmark = pytest.mark.integration


def test_batch_runs_end_to_end(settings, subscribe):
    batch_done = subscribe(settings.topic_batch_done)
    dispatched = subscribe(settings.topic_dispatched)
    # No result cache: this batch runs every job (other tests screen the same molecules).
    response = requests.post(f"{settings.api_base_url}/v1/batches", json=batch_request(12, cache=False), timeout=30)
    assert response.status_code == 202, response.text
    accepted = response.json()
    batch_id = accepted["batch_id"]
    assert response.headers["Location"] == f"/v1/batches/{batch_id}"
    assert accepted["accepted"] == 12
    assert any("fragments" in w["msg"] for w in accepted["warnings"])  # the sodium salt

    def finished():
        body = requests.get(f"{settings.api_base_url}/v1/batches/{batch_id}", timeout=10).json()
        return body if body["status"] in {"completed", "completed_with_failures", "failed"} else None

    final = wait_for(finished, timeout_s=90)
    assert final["status"] == "completed"
    assert (final["succeeded"], final["failed"], final["done"], final["progress"]) == (12, 0, 12, 1.0)
    assert final["eta_s"] == 0.0 and final["jobs_per_s"] > 0
    milestones = sorted(final["milestones"].items(), key=lambda item: int(item[0][1:]))
    assert [name for name, _ in milestones] == ["p10", "p25", "p50", "p75", "p90", "p100"]
    assert [m["done"] for _, m in milestones] == sorted(m["done"] for _, m in milestones)
    assert final["milestones"]["p100"]["done"] == 12

    # Inputs were stored; every job ran exactly once and has its files.
    assert json.loads(storage.get_bytes(final["input_uri"]))["batch_id"] == batch_id
    jobs = list(job_store.iter_jobs(batch_id))
    assert [j.index for j in jobs] == list(range(12))
    assert all(j.status == "succeeded" and j.attempts == 1 and j.call_id for j in jobs)
    first = json.loads(storage.get_bytes(jobs[0].result_uri))
    assert first["metrics"]["inchikey"] == "BSYNRYMUTXBXSQ-UHFFFAOYSA-N"
    assert storage.get_bytes(first["files"]["structure.sdf"]).rstrip().endswith(b"$$$$")

    # Aggregated outputs.
    aggregated = json.loads(storage.get_bytes(final["results"]["aggregated_json"]))
    assert len(aggregated["jobs"]) == 12 and aggregated["succeeded"] == 12
    rows = list(csv.DictReader(io.StringIO(storage.get_bytes(final["results"]["csv"]).decode("utf-8-sig"))))
    assert [r["ligand_name"] for r in rows][:2] == ["aspirin-0", "caffeine-1"]
    assert all(float(r["qed"]) > 0 for r in rows)

    # Downstream: exactly one batch-done for this batch, whose manifest points at real objects.
    events = [m for m in batch_done.drain() if m.attributes["batch_id"] == batch_id]
    assert len(events) == 1
    event = json.loads(events[0].data)
    assert events[0].attributes["event_type"] == "batch.done"
    assert event["event_id"] == f"{batch_id}/batch-done" and event["succeeded"] == 12
    assert all(storage.exists(uri) for uri in event["results"].values())
    assert set(event["results"]) >= {
        "aggregated_json",
        "summary_json",
        "job_index_json",
        "csv",
        "parquet",
        "report_html",
        "batch_metadata_json",
        "batch_index_json",
    }
    summary = json.loads(storage.get_bytes(event["results"]["summary_json"]))
    assert summary["metrics"]["qed"]["q1"] <= summary["metrics"]["qed"]["median"] <= summary["metrics"]["qed"]["q3"]
    assert summary["best"][0]["qed"] == max(float(r["qed"]) for r in rows)
    report = storage.get_bytes(event["results"]["report_html"]).decode()
    assert report.count("data-structure=") == 3 and "M  END" in report  # three conformers, in 3Dmol viewers
    parquet = pq.read_table(io.BytesIO(storage.get_bytes(event["results"]["parquet"])))
    assert parquet.num_rows == 12 and set(parquet.column("input_hash").to_pylist()) == {j.input_hash for j in jobs}

    # Every job was dispatched once.
    started = [
        j for m in dispatched.drain(0.5) if m.attributes["batch_id"] == batch_id for j in json.loads(m.data)["job_ids"]
    ]
    assert sorted(started) == sorted(j.job_id for j in jobs)

    results = requests.get(f"{settings.api_base_url}/v1/batches/{batch_id}/results", timeout=10).json()
    assert len(results["jobs"]) == 12 and results["results"] == final["results"]


def test_unknown_batch_is_404(settings):
    response = requests.get(f"{settings.api_base_url}/v1/batches/bnope", timeout=10)
    assert response.status_code == 404
