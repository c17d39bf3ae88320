"""No batch is ever stuck: the reconciler re-dispatches the jobs of calls whose lease lapsed and
jobs whose deadline passed, fails them after the last attempt with the reason, and finishes
batches whose finalisation was lost. (Recording from what a worker left behind: test_recovery.py.)"""

import pytest

from omtx.domain import BatchStatus, JobStatus
from omtx.events import JobDone
from omtx.gcp.firestore import batches as batch_store
from omtx.gcp.firestore import claims, completion, finalization
from omtx.gcp.firestore import jobs as job_store
from omtx.gcp.firestore.common import call_ref
from omtx.usecases.reconcile import reconcile_once
from tests.integration.conftest import wait_for
from tests.integration.helpers import seed_batch

pytestmark = pytest.mark.integration


def final(batch_id):
    batch = batch_store.get_batch(batch_id)
    return batch if batch and batch.status.is_final else None


def test_the_jobs_of_a_call_whose_lease_lapsed_run_again_long_before_their_deadline(settings):
    batch, jobs = seed_batch(4)
    # Claimed by an executor call that never renews its lease (a crashed worker); the jobs'
    # deadline is 15 minutes away.
    claims.claim_jobs(batch.batch_id, [j.job_id for j in jobs], "local", "lost-call", 900, lease_s=-1)
    report = reconcile_once()
    assert report.calls_settled >= 1 and report.redispatched >= 4 and report.overdue == 0
    done = wait_for(lambda: final(batch.batch_id), timeout_s=60)
    assert done.status == BatchStatus.COMPLETED
    stored = list(job_store.iter_jobs(batch.batch_id))
    assert all(j.attempts == 2 and j.status == JobStatus.SUCCEEDED for j in stored)
    call = call_ref(batch.batch_id, "lost-call").get()
    assert call.get("open") is False  # settled once, out of the reconciler's queries


def test_jobs_past_their_deadline_run_again_even_while_their_lease_is_renewed(settings):
    batch, jobs = seed_batch(3)
    # A worker that renews its lease but never finishes (a hung model): the deadline bounds it.
    claims.claim_jobs(batch.batch_id, [j.job_id for j in jobs], "local", "hung-call", -1, lease_s=900)
    assert reconcile_once().overdue >= 3
    done = wait_for(lambda: final(batch.batch_id), timeout_s=60)
    assert done.status == BatchStatus.COMPLETED
    assert all(j.attempts == 2 for j in job_store.iter_jobs(batch.batch_id))


def test_jobs_fail_with_the_reason_after_the_last_attempt(settings, monkeypatch):
    monkeypatch.setenv("OMTX_JOB_MAX_ATTEMPTS", "1")
    from omtx.settings import get_settings

    get_settings.cache_clear()
    batch, jobs = seed_batch(3)
    claims.claim_jobs(batch.batch_id, [j.job_id for j in jobs[:2]], "local", "lost-call", -1, lease_s=-1)
    completion.complete_job(JobDone(batch_id=batch.batch_id, job_id=jobs[2].job_id, status="succeeded"))
    report = reconcile_once()
    assert report.failed >= 2
    done = wait_for(lambda: final(batch.batch_id), timeout_s=30)
    assert done.status == BatchStatus.COMPLETED_WITH_FAILURES
    failed = [j for j in job_store.iter_jobs(batch.batch_id) if j.status == JobStatus.FAILED]
    assert len(failed) == 2 and all("gave up after 1 attempts" in j.error for j in failed)
    assert reconcile_once().failed == 0  # nothing left to do, nothing counted twice
    assert batch_store.get_counts(batch.batch_id, 3).done == 3


def test_a_batch_whose_finaliser_died_is_finalised(settings, subscribe):
    batch_done = subscribe(settings.topic_batch_done)
    batch, jobs = seed_batch(2)
    # The finaliser claimed and died: its lease is expired and nothing else will fire.
    token = finalization.claim_finalization(batch.batch_id, "dead-finaliser", lease_s=5)
    assert token is not None
    finalization.release_finalization(batch.batch_id, token)
    for job in jobs:
        completion.complete_job(JobDone(batch_id=batch.batch_id, job_id=job.job_id, status="succeeded"))
    wait_for(lambda: final(batch.batch_id) or reconcile_once().batches_finalized, timeout_s=30)
    assert final(batch.batch_id).status == BatchStatus.COMPLETED
    assert len([m for m in batch_done.drain() if m.attributes["batch_id"] == batch.batch_id]) == 1


def test_queued_jobs_whose_message_was_lost_are_dispatched(settings, monkeypatch):
    monkeypatch.setenv("OMTX_QUEUED_GRACE_S", "0")
    from omtx.settings import get_settings

    get_settings.cache_clear()
    batch, _ = seed_batch(3)  # written, but no `submitted` message was ever published
    assert reconcile_once().requeued_lost >= 3
    done = wait_for(lambda: final(batch.batch_id), timeout_s=60)
    assert done.status == BatchStatus.COMPLETED


def test_a_finaliser_that_outlived_its_lease_cannot_undo_the_new_owner(settings):
    batch, _ = seed_batch(1)
    old = finalization.claim_finalization(batch.batch_id, "slow-finaliser", lease_s=5)
    finalization.release_finalization(batch.batch_id, old)  # its lease expires
    new = finalization.claim_finalization(batch.batch_id, "new-finaliser", lease_s=300)
    assert old and new and new != old
    finalization.release_finalization(batch.batch_id, old)  # the slow one fails late: must not expire the new lease
    assert finalization.claim_finalization(batch.batch_id, "third", lease_s=300) is None
    finalization.finish_finalization(batch.batch_id, new)
    assert finalization.finalization_done(batch.batch_id)
