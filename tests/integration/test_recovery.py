"""Recovery from what a worker left behind: a job whose `job-done` was lost is recorded from the
results.json its worker stored (through the token-guarded commit), not run again; a cancelled
batch stops its worker at the next ligand and keeps no file of a cancelled job.

The worker runs in this process (the real worker function, the real emulators) with its job-done
messages dropped on the way out, as the Pub/Sub emulator drops them when their push fails together
(test_emulator_pubsub.py). Leases are shortened here only so that the tests do not wait out the
default; benchmarks/recovery.py measures the defaults."""

import json
import threading
import time

import pytest
import requests

from omtx.domain import BatchStatus, Job, JobStatus, utcnow
from omtx.gcp import pubsub, storage
from omtx.gcp.clients import storage_client
from omtx.gcp.firestore import batches as batch_store
from omtx.gcp.firestore import claims, finalization
from omtx.gcp.firestore import jobs as job_store
from omtx.gcp.firestore.common import call_ref
from omtx.predictors.registry import load_predictor
from omtx.settings import get_settings
from omtx.usecases import recovery
from omtx.usecases.dispatch import work_order
from omtx.usecases.reconcile import reconcile_once
from omtx.worker import WorkOrder, job_prefix, run_work_order
from tests.integration.conftest import wait_for
from tests.integration.helpers import seed_batch

pytestmark = pytest.mark.integration


@pytest.fixture
def short_lease(settings, monkeypatch):
    monkeypatch.setenv("OMTX_LEASE_S", "2")
    monkeypatch.setenv("OMTX_HEARTBEAT_S", "1")
    get_settings.cache_clear()


@pytest.fixture
def lost_reports(settings, monkeypatch):
    """Every job-done this process publishes is lost."""
    real = pubsub.publish
    topic = settings.topic_job_done
    monkeypatch.setattr(pubsub, "publish", lambda t, events: None if t == topic else real(t, events))


def ids(jobs):
    return [j.job_id for j in jobs]


def order_of(batch, claimed: list[Job], call_id: str) -> WorkOrder:
    """The work order dispatch would have started for these claimed jobs."""
    return work_order(batch, claimed, "local", call_id)


def final(batch_id):
    batch = batch_store.get_batch(batch_id)
    return batch if batch and batch.status.is_final and finalization.finalization_done(batch_id) else None


def results_written(settings, batch_id) -> set[str]:
    """Job ids with a results.json in the bucket."""
    blobs = storage_client().list_blobs(settings.results_bucket, prefix=f"batches/{batch_id}/jobs/")
    return {b.name.split("/")[3] for b in blobs if b.name.endswith("/results.json")}


def test_a_lost_job_done_is_recorded_from_the_results_json_not_run_again(settings, short_lease, lost_reports):
    batch, jobs = seed_batch(4)
    b = batch.batch_id
    ran = claims.claim_jobs(b, ids(jobs[:3]), "local", "call-ran", 900, lease_s=2)
    claims.claim_jobs(b, ids(jobs[3:]), "local", "call-died", 900, lease_s=2)  # its worker never ran
    assert len(run_work_order(order_of(batch, ran, "call-ran"))) == 3
    assert batch_store.get_counts(b, 4).done == 0  # stored, but not one report arrived
    time.sleep(2.5)  # both leases lapse (the worker's last renewal said it finished)
    reconcile_once()  # the stack's own reconciler may get there first: the outcome is the same
    done = wait_for(lambda: final(b), timeout_s=60)
    assert (done.status, done.succeeded, done.failed) == (BatchStatus.COMPLETED, 4, 0)
    stored = {j.job_id: j for j in job_store.iter_jobs(b)}
    for job in ran:  # recorded from their files: one attempt, the worker's result
        kept = stored[job.job_id]
        assert (kept.status, kept.attempts) == (JobStatus.SUCCEEDED, 1)
        assert kept.result_uri == storage.gcs_uri(settings.results_bucket, f"{job_prefix(b, job.job_id)}/results.json")
        assert kept.metrics["formula"] == "C2H6O" and set(kept.files) >= {"structure.sdf", "metadata.json"}
    assert stored[jobs[3].job_id].attempts == 2  # nothing left behind: it ran again
    assert call_ref(b, "call-ran").get().get("open") is False


def test_a_retry_is_not_answered_by_the_result_it_retries(settings):
    batch, [job] = seed_batch(1)
    b = batch.batch_id
    stale = storage.gcs_uri(settings.results_bucket, f"{job_prefix(b, job.job_id)}/results.json")
    bucket, name = storage.split_uri(stale)
    storage.put_bytes(bucket, name, b'{"status": "failed", "error": "an earlier attempt"}', "application/json")
    time.sleep(0.05)
    [claimed] = claims.claim_jobs(b, [job.job_id], "local", "call-1", 900, lease_s=900)
    assert claims.requeue_job(claimed, claimed.claim_token, "queued again after the file was written")
    claims.claim_jobs(b, [job.job_id], "local", "call-2", 900, lease_s=-1)
    reconcile_once()
    done = wait_for(lambda: final(b), timeout_s=60)
    [kept] = job_store.iter_jobs(b)
    assert (done.status, kept.status, kept.attempts) == (BatchStatus.COMPLETED, JobStatus.SUCCEEDED, 3)


def test_a_live_workers_lost_report_is_recorded_after_the_grace(settings, monkeypatch, lost_reports):
    monkeypatch.setenv("OMTX_HEARTBEAT_S", "1")
    monkeypatch.setenv("OMTX_REPORT_GRACE_S", "0")
    get_settings.cache_clear()
    batch, jobs = seed_batch(2)
    b = batch.batch_id
    ran = claims.claim_jobs(b, ids(jobs), "local", "call-live", 900, lease_s=900)
    run_work_order(order_of(batch, ran, "call-live"))
    call = call_ref(b, "call-live").get().to_dict()
    assert set(call["reported"]) == set(ids(jobs)) and call["open"] is True and call["finished_at"]
    # The lease is far from lapsing: only the reports say these jobs are done.
    assert recovery.check_reports(utcnow(), 100) == 2
    done = wait_for(lambda: final(b), timeout_s=60)
    assert (done.succeeded, [j.attempts for j in job_store.iter_jobs(b)]) == (2, [1, 1])
    assert call_ref(b, "call-live").get().to_dict()["reported"] == {}
    assert recovery.check_reports(utcnow(), 100) == 0  # checked reports are not read again


class Slow:
    """rdkit_props at 0.2 s a ligand, so a cancel lands while the call runs."""

    def __init__(self) -> None:
        self.inner = load_predictor("rdkit_props")

    def predict(self, *args):
        time.sleep(0.2)
        return self.inner.predict(*args)


def test_a_cancelled_batch_stops_its_worker_and_keeps_no_file_of_a_cancelled_job(settings, short_lease, subscribe):
    batch_done = subscribe(settings.topic_batch_done)
    batch, jobs = seed_batch(30)
    b = batch.batch_id
    claimed = claims.claim_jobs(b, ids(jobs), "local", "call-slow", 900, lease_s=2)
    from omtx import worker

    slow = Slow()
    original = worker.load_predictor
    worker.load_predictor = lambda model: slow
    try:
        thread = threading.Thread(target=run_work_order, args=(order_of(batch, claimed, "call-slow"),))
        thread.start()
        wait_for(lambda: len(results_written(settings, b)) >= 3, timeout_s=30, interval_s=0.05)
        response = requests.post(f"{settings.api_base_url}/v1/batches/{b}/cancel", timeout=60)
        assert response.status_code == 200, response.text
        cancelled_at = time.monotonic()
        thread.join(timeout=30)
        stopped_after = time.monotonic() - cancelled_at
    finally:
        worker.load_predictor = original
    # Told by its next heartbeat (1 s here), the worker stopped at the next ligand.
    assert not thread.is_alive() and stopped_after < 3, stopped_after
    written = results_written(settings, b)
    assert len(written) < 30

    stored = {j.job_id: j for j in job_store.iter_jobs(b)}
    finished = {j for j, job in stored.items() if job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED)}
    cancelled = {j for j, job in stored.items() if job.status == JobStatus.CANCELLED}
    assert finished | cancelled == set(stored) and cancelled
    # Once its lease lapsed the call is settled: what it stored for cancelled jobs is removed.
    time.sleep(2.5)
    reconcile_once()
    wait_for(lambda: not (results_written(settings, b) & cancelled), timeout_s=30)
    for job_id in cancelled:
        assert list(storage_client().list_blobs(settings.results_bucket, prefix=f"{job_prefix(b, job_id)}/")) == []
    assert results_written(settings, b) == finished  # what finished keeps its files
    [event] = [e for e in (json.loads(m.data) for m in batch_done.drain(2.0)) if e["batch_id"] == b]
    assert (event["status"], event["cancelled"]) == ("cancelled", len(cancelled))
    assert event["succeeded"] + event["failed"] + event["cancelled"] == event["total"] == 30
