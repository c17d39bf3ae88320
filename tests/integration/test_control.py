"""Batch control on the running stack: cancel keeps what finished and ends the rest, retry runs the
failed jobs again under a new revision, delete removes a batch and all its data."""

import csv
import io
import json
import time

import pytest
import requests
from typer.testing import CliRunner

from omtx.cli.main import app as cli
from omtx.domain import JobStatus
from omtx.events import JobDone, JobsSubmitted
from omtx.gcp import pubsub
from omtx.gcp.clients import firestore_client, storage_client
from omtx.gcp.firestore import batches as batch_store
from omtx.gcp.firestore import cancellation, claims, completion, finalization
from omtx.gcp.firestore import jobs as job_store
from tests.integration.conftest import wait_for
from tests.integration.helpers import batch_request, seed_batch

pytestmark = pytest.mark.integration


def api(settings, method, path, **kw):
    return requests.request(method, f"{settings.api_base_url}{path}", timeout=120, **kw)


def batch_done_of(subscription, batch_id, window_s=2.0):
    return [json.loads(m.data) for m in subscription.drain(window_s) if m.attributes["batch_id"] == batch_id]


def statuses(batch_id):
    return [j.status for j in job_store.iter_jobs(batch_id)]


def final(batch_id):
    batch = batch_store.get_batch(batch_id)
    return batch if batch and batch.status.is_final and finalization.finalization_done(batch_id) else None


def test_cancel_keeps_what_finished_and_ends_the_rest(settings, subscribe):
    batch_done = subscribe(settings.topic_batch_done)
    batch, jobs = seed_batch(10, shards=2)
    b = batch.batch_id
    for job in jobs[:3]:
        completion.complete_job(JobDone(batch_id=b, job_id=job.job_id, status="succeeded", metrics={"qed": 0.5}))
    completion.complete_job(JobDone(batch_id=b, job_id=jobs[3].job_id, status="failed", error="model error"))
    # Three jobs in flight on a call that is still running, three never dispatched.
    in_flight = claims.claim_jobs(b, [j.job_id for j in jobs[4:7]], "local", "local-elsewhere", 900, lease_s=900)
    assert len(in_flight) == 3

    response = api(settings, "POST", f"/v1/batches/{b}/cancel")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["cancelled_jobs"], body["repeated"]) == ("cancelled", 6, False)
    # The call runs in the dispatch service's process pool: the API cannot stop it.
    assert (body["calls_stopped"], body["calls_not_stopped"]) == (0, 1)

    view = api(settings, "GET", f"/v1/batches/{b}").json()
    assert (view["status"], view["succeeded"], view["failed"], view["cancelled"]) == ("cancelled", 3, 1, 6)
    assert statuses(b) == ["succeeded"] * 3 + ["failed"] + ["cancelled"] * 6
    # The partial results are exported, every job accounted for.
    exported = api(settings, "GET", f"/v1/batches/{b}/exports/batch_results.csv")
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert [r["status"] for r in rows].count("cancelled") == 6 and len(rows) == 10

    # A late report of a job that was in flight counts nothing, even with its valid claim token.
    late = in_flight[0]
    done = completion.complete_jobs(
        [JobDone(batch_id=b, job_id=late.job_id, status="succeeded", shard=late.shard, claim_token=late.claim_token)]
    )
    assert done.applied == 0
    counts = batch_store.get_counts(b, 10)
    assert (counts.succeeded, counts.failed) == (3, 1)
    # A redelivered `submitted` starts nothing: dispatch skips a cancelled batch.
    pubsub.publish(settings.topic_submitted, [JobsSubmitted(batch_id=b, chunk=0, job_ids=[j.job_id for j in jobs])])
    time.sleep(2)
    assert statuses(b)[4:] == ["cancelled"] * 6

    again = api(settings, "POST", f"/v1/batches/{b}/cancel")
    assert again.status_code == 200 and again.json()["repeated"] is True
    events = batch_done_of(batch_done, b)
    assert [(e["status"], e["succeeded"], e["failed"], e["cancelled"]) for e in events] == [("cancelled", 3, 1, 6)]


def test_cancelling_a_batch_mid_flight_leaves_exact_counts_and_nothing_unfinished(settings, subscribe):
    batch_done = subscribe(settings.topic_batch_done)
    # Large enough to fan out in ranges (the test stack does above 40) and to still be running.
    accepted = api(settings, "POST", "/v1/batches", json=batch_request(240, cache=False)).json()
    b = accepted["batch_id"]
    wait_for(lambda: batch_store.get_counts(b, 240).done > 0, timeout_s=60, interval_s=0.05)
    response = api(settings, "POST", f"/v1/batches/{b}/cancel")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    view = api(settings, "GET", f"/v1/batches/{b}").json()
    assert view["succeeded"] + view["failed"] + view["cancelled"] == 240 and view["cancelled"] > 0
    # Workers still running report for a while; ranges still being written get cancelled jobs.
    time.sleep(8)
    assert not job_store.jobs_in_status(b, cancellation.UNFINISHED)
    counts = batch_store.get_counts(b, 240)
    assert (counts.succeeded, counts.failed) == (view["succeeded"], view["failed"])
    finished = [s for s in statuses(b) if s in (JobStatus.SUCCEEDED, JobStatus.FAILED)]
    assert len(finished) == counts.done
    [event] = batch_done_of(batch_done, b)
    assert (event["succeeded"], event["failed"], event["cancelled"]) == (
        view["succeeded"],
        view["failed"],
        view["cancelled"],
    )


def test_cancel_refusals(settings):
    assert api(settings, "POST", "/v1/batches/bffffffffffffffff/cancel").status_code == 404
    accepted = api(settings, "POST", "/v1/batches", json=batch_request(2, cache=False)).json()
    wait_for(lambda: final(accepted["batch_id"]), timeout_s=60)
    finished = api(settings, "POST", f"/v1/batches/{accepted['batch_id']}/cancel")
    assert finished.status_code == 409 and "already finished" in finished.json()["message"]


def test_retry_runs_the_failed_jobs_again_and_finalises_once_more(settings, subscribe):
    batch_done = subscribe(settings.topic_batch_done)
    batch, jobs = seed_batch(6, shards=2)
    b = batch.batch_id
    for job in jobs[:4]:
        completion.complete_job(JobDone(batch_id=b, job_id=job.job_id, status="succeeded"))
    for job in jobs[4:]:
        completion.complete_job(JobDone(batch_id=b, job_id=job.job_id, status="failed", error="transient GPU fault"))
    first = wait_for(lambda: final(b), timeout_s=60)
    assert first.status == "completed_with_failures"
    assert api(settings, "POST", "/v1/batches/bffffffffffffffff/retry").status_code == 404

    response = api(settings, "POST", f"/v1/batches/{b}/retry")
    assert response.status_code == 202, response.text
    assert response.headers["Location"] == f"/v1/batches/{b}"
    assert (response.json()["requeued"], response.json()["revision"]) == (2, 1)
    # A second retry is refused: the batch is running again (or has already completed).
    assert api(settings, "POST", f"/v1/batches/{b}/retry").status_code == 409

    second = wait_for(lambda: (x := final(b)) and x.revision == 1 and x, timeout_s=90)
    assert (second.status, second.succeeded, second.failed, second.revision) == ("completed", 6, 0, 1)
    counts = batch_store.get_counts(b, 6)
    assert (counts.succeeded, counts.failed) == (6, 0)
    retried = [j for j in job_store.iter_jobs(b) if j.retries]
    assert [j.job_id for j in retried] == [j.job_id for j in jobs[4:]]
    assert all(j.status == "succeeded" and j.error is None for j in retried)
    events = batch_done_of(batch_done, b)
    assert [e["status"] for e in events] == ["completed_with_failures", "completed"]
    nothing_left = api(settings, "POST", f"/v1/batches/{b}/retry")
    assert nothing_left.status_code == 409 and "nothing to retry" in nothing_left.json()["message"]


def test_retry_refuses_running_and_cancelled_batches(settings):
    batch, _ = seed_batch(2)
    running = api(settings, "POST", f"/v1/batches/{batch.batch_id}/retry")
    assert running.status_code == 409 and "once it has finished" in running.json()["message"]
    assert api(settings, "POST", f"/v1/batches/{batch.batch_id}/cancel").status_code == 200
    cancelled = api(settings, "POST", f"/v1/batches/{batch.batch_id}/retry")
    assert cancelled.status_code == 409 and "cancelled" in cancelled.json()["message"]


def objects(settings, batch_id):
    return [
        blob.name
        for bucket in (settings.inputs_bucket, settings.results_bucket)
        for blob in storage_client().list_blobs(bucket, prefix=f"batches/{batch_id}/")
    ]


def test_delete_removes_the_batch_and_all_its_data(settings):
    key = {"Idempotency-Key": f"delete-me-{time.time()}"}
    request = batch_request(3, cache=False)  # its own files, not links to an earlier batch's
    b = api(settings, "POST", "/v1/batches", json=request, headers=key).json()["batch_id"]
    wait_for(lambda: final(b), timeout_s=60)
    assert len(objects(settings, b)) >= 1 + 3 * 2 + 8  # input, per-job files, result files
    ref = firestore_client().collection("batches").document(b)
    assert {c.id for c in ref.collections()} >= {"jobs", "shards", "claims", "milestones"}

    assert api(settings, "DELETE", f"/v1/batches/{b}").status_code == 204
    assert api(settings, "GET", f"/v1/batches/{b}").status_code == 404
    assert objects(settings, b) == []
    assert not ref.get().exists and list(ref.collections()) == []
    # Its idempotency key is gone too: the same request creates a new batch.
    replay = api(settings, "POST", "/v1/batches", json=request, headers=key)
    assert replay.status_code == 202 and replay.json()["batch_id"] != b
    assert api(settings, "DELETE", f"/v1/batches/{b}").status_code == 204  # idempotent


def test_an_unfinished_batch_is_cancelled_before_it_is_deleted(settings):
    batch, _ = seed_batch(2)
    b = batch.batch_id
    refused = api(settings, "DELETE", f"/v1/batches/{b}")
    assert refused.status_code == 409 and "cancel it first" in refused.json()["message"]
    assert batch_store.get_batch(b) is not None
    cancelled = CliRunner().invoke(cli, ["batch", "cancel", b])
    assert cancelled.exit_code == 0 and "cancelled; 2 jobs cancelled" in cancelled.output, cancelled.output
    deleted = CliRunner().invoke(cli, ["batch", "delete", b, "--yes"])
    assert deleted.exit_code == 0 and batch_store.get_batch(b) is None, deleted.output
    unknown = CliRunner().invoke(cli, ["batch", "delete", "bffffffffffffffff", "--yes"])
    assert unknown.exit_code == 1 and "404" in unknown.output
