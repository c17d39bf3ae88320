"""At-least-once delivery, injected on purpose: the emulators deliver in order and exactly once,
so these tests publish the duplicates, reorderings and races themselves."""

import json
import random
from concurrent.futures import ThreadPoolExecutor

import pytest

from omtx.domain import BatchRequest, BatchStatus, JobStatus
from omtx.events import JobDone, JobsSubmitted
from omtx.gcp import pubsub
from omtx.gcp.firestore import batches as batch_store
from omtx.gcp.firestore import claims, completion
from omtx.gcp.firestore import jobs as job_store
from omtx.usecases.aggregate import Outcome, finalize_if_complete
from omtx.usecases.submit import submit_batch
from tests.integration.conftest import wait_for
from tests.integration.helpers import batch_request, seed_batch

pytestmark = pytest.mark.integration


def final(batch_id):
    batch = batch_store.get_batch(batch_id)
    return batch if batch and batch.status.is_final else None


def test_duplicate_and_reordered_job_done_count_once(settings, subscribe):
    batch_done = subscribe(settings.topic_batch_done)
    batch, jobs = seed_batch(40, shards=4)
    rng = random.Random(7)
    events = []
    for job in jobs:
        ok = job.index % 5 != 0  # every fifth job fails
        event = JobDone(
            batch_id=batch.batch_id,
            job_id=job.job_id,
            status="succeeded" if ok else "failed",
            metrics={"qed": 0.5},
            error=None if ok else "embedding failed",
        )
        events += [event] * rng.randint(1, 3)  # redeliveries
    rng.shuffle(events)
    pubsub.publish(settings.topic_job_done, events)

    done = wait_for(lambda: final(batch.batch_id), timeout_s=60)
    counts = batch_store.get_counts(batch.batch_id, batch.total)
    assert (counts.succeeded, counts.failed) == (32, 8)
    assert done.status == BatchStatus.COMPLETED_WITH_FAILURES

    # Late, contradicting redeliveries after the batch is final change and count nothing.
    late = [e.model_copy(update={"status": "failed", "error": "late"}) for e in events if e.status == "succeeded"]
    pubsub.publish(settings.topic_job_done, late[:10])
    messages = [m for m in batch_done.drain(3.0) if m.attributes["batch_id"] == batch.batch_id]
    assert len(messages) == 1
    assert json.loads(messages[0].data)["failed"] == 8
    counts = batch_store.get_counts(batch.batch_id, batch.total)
    assert (counts.succeeded, counts.failed) == (32, 8)
    stored = list(job_store.iter_jobs(batch.batch_id))
    assert sum(j.status == JobStatus.FAILED for j in stored) == 8
    assert all(j.error != "late" for j in stored)


def test_redelivered_submitted_never_starts_a_job_twice(settings, subscribe):
    dispatched = subscribe(settings.topic_dispatched)
    # No result cache: every job must really start (once), not be answered from earlier tests.
    request = BatchRequest.model_validate(batch_request(16, cache=False))
    outcome = submit_batch(request, tenant="default")
    jobs = list(job_store.iter_jobs(outcome.batch_id))
    # Redeliver every chunk three more times, while the first deliveries are being handled.
    chunks = [
        JobsSubmitted(batch_id=outcome.batch_id, chunk=n, job_ids=[j.job_id for j in jobs[s : s + 8]])
        for n, s in enumerate(range(0, 16, 8))
    ]
    pubsub.publish(settings.topic_submitted, chunks * 3)

    wait_for(lambda: final(outcome.batch_id), timeout_s=90)
    stored = list(job_store.iter_jobs(outcome.batch_id))
    assert all(j.attempts == 1 and j.status == JobStatus.SUCCEEDED for j in stored)
    started = [
        j
        for m in dispatched.drain()
        if m.attributes["batch_id"] == outcome.batch_id
        for j in json.loads(m.data)["job_ids"]
    ]
    assert sorted(started) == sorted(j.job_id for j in jobs)


def test_racing_finalisers_finalise_once(settings, subscribe):
    batch_done = subscribe(settings.topic_batch_done)
    batch, jobs = seed_batch(6)
    # Complete the jobs directly (no trigger-relevant difference) and race 16 finalisers against
    # the trigger the last completion fires.
    for job in jobs:
        assert completion.complete_job(JobDone(batch_id=batch.batch_id, job_id=job.job_id, status="succeeded"))
    with ThreadPoolExecutor(16) as pool:
        outcomes = list(pool.map(lambda _: finalize_if_complete(batch.batch_id), range(16)))
    assert outcomes.count(Outcome.FINALIZED) <= 1
    assert set(outcomes) <= {Outcome.FINALIZED, Outcome.CLAIMED_ELSEWHERE, Outcome.ALREADY_FINAL}
    wait_for(lambda: final(batch.batch_id))
    assert len([m for m in batch_done.drain() if m.attributes["batch_id"] == batch.batch_id]) == 1
    assert finalize_if_complete(batch.batch_id) == Outcome.ALREADY_FINAL


def test_incomplete_batches_are_not_finalised(settings):
    batch, jobs = seed_batch(3)
    completion.complete_job(JobDone(batch_id=batch.batch_id, job_id=jobs[0].job_id, status="succeeded"))
    assert finalize_if_complete(batch.batch_id) == Outcome.INCOMPLETE
    assert batch_store.get_batch(batch.batch_id).status == BatchStatus.QUEUED


def test_poison_messages_are_acknowledged_and_recorded(settings, subscribe):
    from google.cloud import pubsub_v1

    from omtx.gcp.clients import firestore_client, publisher_client

    dead = subscribe("dispatch-submitted-dead-letter")
    future = publisher_client().publish(pubsub.topic_path(settings.topic_submitted), b'{"not": "a chunk"}')
    message_id = future.result()
    doc = firestore_client().collection("rejections").document(f"dispatch-{message_id}")
    record = wait_for(lambda: doc.get().to_dict(), timeout_s=30)
    assert "JobsSubmitted" in record["reason"] and record["payload"] == {"not": "a chunk"}
    unknown_job = JobDone(batch_id="bmissing", job_id="jmissing", status="succeeded")
    pubsub.publish(settings.topic_job_done, [unknown_job])
    doc = firestore_client().collection("rejections").document("complete-bmissing-jmissing")
    assert "does not exist" in wait_for(lambda: doc.get().to_dict(), timeout_s=30)["reason"]
    assert dead.drain(1.0) == []  # acknowledged, not cycling towards the dead-letter topic
    assert isinstance(pubsub_v1.SubscriberClient, type)


def test_claim_token_reports_count_once_and_late_attempts_still_count_once(settings, subscribe):
    batch_done = subscribe(settings.topic_batch_done)
    batch, jobs = seed_batch(10, shards=2)
    claimed = claims.claim_jobs(batch.batch_id, [j.job_id for j in jobs], "local", "call-1", 60, lease_s=60)
    assert len(claimed) == 10 and all(j.claim_token for j in claimed)
    assert claims.claim_jobs(batch.batch_id, [j.job_id for j in jobs], "local", "call-2", 60, lease_s=60) == []

    def report(job, token):
        return JobDone(
            batch_id=batch.batch_id, job_id=job.job_id, status="succeeded", shard=job.shard, claim_token=token
        )

    # A report from an earlier attempt (its token no longer matches) is still a valid result:
    # it counts once, through the transaction path, and the current attempt's report is then
    # the duplicate.
    stale = claimed[0].claim_token.replace("Z", "").rsplit(".", 1)[0] + ".000000001Z"
    events = [report(j, j.claim_token) for j in claimed[1:]] * 3 + [report(claimed[0], stale)]
    random.Random(3).shuffle(events)
    pubsub.publish(settings.topic_job_done, events)
    wait_for(lambda: final(batch.batch_id), timeout_s=30)
    pubsub.publish(settings.topic_job_done, [report(claimed[0], claimed[0].claim_token)] * 2)
    assert len([m for m in batch_done.drain(2.0) if m.attributes["batch_id"] == batch.batch_id]) == 1
    counts = batch_store.get_counts(batch.batch_id, 10)
    assert (counts.succeeded, counts.failed) == (10, 0)
