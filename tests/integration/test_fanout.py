"""Large batches: 202 once the input is stored, jobs written in the background range by range,
nothing lost or doubled when a range is delivered twice or its message is lost.
The test stack fans out above 40 ligands, in ranges of 20 (conftest)."""

import json

import pytest
import requests

from omtx.domain import BatchRequest
from omtx.events import JobsSubmitted
from omtx.gcp import storage
from omtx.gcp.firestore import batches as batch_store
from omtx.gcp.firestore import jobs as job_store
from omtx.usecases.fanout import fan_out_range, manifest_name, republish_ranges
from omtx.usecases.submit import submit_batch
from tests.integration.conftest import wait_for
from tests.integration.helpers import batch_request

pytestmark = pytest.mark.integration


def test_large_batch_fans_out_in_the_background_and_completes(settings):
    request = batch_request(100)  # rdkit_props: chunks of 8, so ranges of 16
    response = requests.post(f"{settings.api_base_url}/v1/batches", json=request, timeout=60)
    assert response.status_code == 202, response.text
    batch_id = response.json()["batch_id"]
    manifest = json.loads(storage.get_bytes(f"gs://{settings.inputs_bucket}/{manifest_name(batch_id)}"))
    bounds = [(r["start"], r["end"]) for r in manifest["ranges"]]
    assert bounds == [(start, min(start + 16, 100)) for start in range(0, 100, 16)]

    # Only the first two ranges were published at submit; each handled range starts the next.
    def finished():
        body = requests.get(f"{settings.api_base_url}/v1/batches/{batch_id}", timeout=10).json()
        return body if body["status"] == "completed" else None

    final = wait_for(finished, timeout_s=120)
    assert (final["succeeded"], final["failed"]) == (100, 0)
    jobs = list(job_store.iter_jobs(batch_id))
    assert [j.index for j in jobs] == list(range(100))
    assert all(j.attempts == 1 and j.inchikey for j in jobs)  # each started once, InChIKey computed in fan-out
    assert jobs[0].inchikey == "BSYNRYMUTXBXSQ-UHFFFAOYSA-N"  # aspirin
    assert json.loads(storage.get_bytes(jobs[0].result_uri))["metrics"]["inchikey"] == jobs[0].inchikey


def test_a_range_delivered_twice_or_lost_creates_each_job_once(settings, subscribe, monkeypatch):
    submitted = subscribe(settings.topic_submitted)
    # Submit without letting the ranges reach dispatch: as if every range message were lost.
    monkeypatch.setattr("omtx.usecases.submit.publish_ranges", lambda batch_id, ranges: None)
    outcome = submit_batch(BatchRequest.model_validate(batch_request(50)), "default")
    batch = batch_store.get_batch(outcome.batch_id)
    assert job_store.count_jobs(batch.batch_id) == 0

    # The reconciler's sweep finds the jobs missing and publishes the ranges again.
    assert republish_ranges(batch) == 4
    ranges = [
        event.range
        for m in submitted.drain(1.5)
        if m.attributes["batch_id"] == batch.batch_id
        and (event := JobsSubmitted.model_validate_json(m.data)).range is not None
    ]
    # (each handled range may also start the one two further on, if its jobs are not there yet)
    assert sorted({(r.start, r.end) for r in ranges}) == [(0, 16), (16, 32), (32, 48), (48, 50)]

    # Those deliveries reach the stack's dispatch too; a further redelivery creates nothing.
    wait_for(lambda: job_store.count_jobs(batch.batch_id) == 50, timeout_s=30)
    again = fan_out_range(JobsSubmitted(batch_id=batch.batch_id, chunk=-1, range=ranges[0]))
    assert again.created == 0
    wait_for(lambda: batch_store.get_batch(batch.batch_id).status == "completed", timeout_s=60)
    assert all(j.attempts == 1 for j in job_store.iter_jobs(batch.batch_id))
    assert republish_ranges(batch_store.get_batch(batch.batch_id)) == 0
