"""Bounded concurrency per model: above its limit of calls in flight, dispatch refuses a chunk
with a retryable error (Pub/Sub redelivers it later) instead of starting or dropping it."""

import pytest

from omtx.domain import JobStatus
from omtx.events import JobsSubmitted
from omtx.gcp import capacity
from omtx.gcp.firestore import claims
from omtx.gcp.firestore import jobs as job_store
from omtx.settings import get_settings
from omtx.usecases.dispatch import AtCapacity, dispatch_chunk
from tests.integration.helpers import seed_batch

pytestmark = pytest.mark.integration


def test_a_model_at_its_limit_holds_the_next_chunk_back(settings, monkeypatch):
    # rdkit_props runs chunks of 8: a limit of one call means 8 jobs in flight at most.
    busy, busy_jobs = seed_batch(8)
    waiting, waiting_jobs = seed_batch(8)
    base = capacity.jobs_in_flight("rdkit_props")
    # As if a worker call were running busy's chunk (claimed, nothing started; the reconciler
    # requeues them after the deadline and the stack finishes them).
    claims.claim_jobs(busy.batch_id, [j.job_id for j in busy_jobs], "local", "held-call", 5, lease_s=5)
    assert capacity.jobs_in_flight("rdkit_props") == base + 8

    monkeypatch.setenv("OMTX_MAX_CALLS_IN_FLIGHT", f'{{"rdkit_props": {base // 8 + 1}}}')
    get_settings.cache_clear()
    event = JobsSubmitted(batch_id=waiting.batch_id, chunk=0, job_ids=[j.job_id for j in waiting_jobs])
    with pytest.raises(AtCapacity, match="rdkit_props has .* jobs in flight"):
        dispatch_chunk(event)
    # nothing was claimed: the redelivery will find every job queued
    assert {j.status for j in job_store.iter_jobs(waiting.batch_id)} == {JobStatus.QUEUED}
