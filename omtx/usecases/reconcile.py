"""Reconcile: the periodic sweep that leaves no batch stuck (Cloud Scheduler in GCP, a loop in
the local stack). Safe to run concurrently and repeatedly: every action is guarded by the update
time it was decided on, or is itself idempotent. Taking jobs back from dead or silent workers is
usecases/recovery.py."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import timedelta

from pydantic import BaseModel

from omtx.domain import utcnow
from omtx.events import JobDone, JobsSubmitted
from omtx.gcp import pubsub
from omtx.gcp.firestore import batches as batch_store
from omtx.gcp.firestore import claims, completion, finalization, message_loss
from omtx.predictors.registry import get_model
from omtx.settings import get_settings
from omtx.usecases import campaigns, recovery
from omtx.usecases.aggregate import Outcome, finalize_if_complete
from omtx.usecases.fanout import republish_ranges
from omtx.webhooks import deliver as webhooks

log = logging.getLogger(__name__)
SWEEP_LIMIT = 5_000  # overdue jobs handled per pass; the next pass takes the rest


class ReconcileReport(BaseModel):
    calls_settled: int = 0  # calls whose lease lapsed, settled and closed
    recovered: int = 0  # jobs recorded from the results.json their worker left behind
    overdue: int = 0
    requeued_lost: int = 0
    redispatched: int = 0
    failed: int = 0
    outputs_removed: int = 0  # objects stored for cancelled jobs
    batches_checked: int = 0
    batches_finalized: int = 0
    ranges_republished: int = 0
    webhooks_redriven: int = 0
    campaigns_redriven: int = 0


def reconcile_once() -> ReconcileReport:
    settings = get_settings()
    report = ReconcileReport()
    now = utcnow()
    back = recovery.TakeBack()
    # Lost reports of live workers, then the calls of dead (or finished) ones, then the jobs that
    # outlived a healthy run: each recorded from its results.json where one exists.
    back.recovered += recovery.check_reports(now, SWEEP_LIMIT)
    report.calls_settled, report.outputs_removed = recovery.settle_lapsed_calls(now, SWEEP_LIMIT, back)
    overdue = claims.overdue_jobs(now, SWEEP_LIMIT)
    report.overdue = len(overdue)
    back.take_back(overdue, "no result within its deadline")
    report.recovered = back.recovered
    retry = back.retry
    # Queued jobs whose `submitted` message was lost: publish again (claiming makes it harmless).
    # A message is taken for lost after a grace, or at once if the messaging restarted since.
    settled = now - timedelta(seconds=settings.queued_grace_s)
    if lost := message_loss.messages_lost():
        settled = max(settled, lost[0])
    for job in claims.stale_queued_jobs(settled, SWEEP_LIMIT):
        report.requeued_lost += 1
        retry[job.batch_id].append(job.job_id)
    for batch_id, job_ids in retry.items():
        # Chunks of the batch's model: one message is one worker call
        batch = batch_store.get_batch(batch_id)
        size = get_model(batch.model).chunk_size if batch is not None else 50
        pubsub.publish(
            settings.topic_submitted,
            [
                JobsSubmitted(batch_id=batch_id, chunk=-1, job_ids=job_ids[i : i + size])
                for i in range(0, len(job_ids), size)
            ],
        )
        report.redispatched += len(job_ids)
    by_batch: dict[str, list[JobDone]] = defaultdict(list)
    for done in back.give_up:
        by_batch[done.batch_id].append(done)
    for group in by_batch.values():
        report.failed += completion.complete_jobs(group).applied
    # A large batch whose fan-out message was lost gets its ranges again.
    active = batch_store.active_batches(SWEEP_LIMIT)
    for batch in active:
        if batch.total > settings.fanout_from and batch.created_at < settled:
            report.ranges_republished += republish_ranges(batch)
    # A batch whose last counter event was lost, or whose finaliser died, is finished here.
    stuck = {b.batch_id for b in active}
    stuck |= set(finalization.stale_finalizations(utcnow(), SWEEP_LIMIT))
    for batch_id in sorted(stuck):
        report.batches_checked += 1
        if finalize_if_complete(batch_id) == Outcome.FINALIZED:
            report.batches_finalized += 1
    report.webhooks_redriven = webhooks.redrive_due()
    if lost:
        message_loss.clear(lost[1])  # re-published: from now on the grace decides again
    # A campaign whose stage finished but whose next step never happened (lost batch-done).
    report.campaigns_redriven = campaigns.redrive(SWEEP_LIMIT)
    if (
        report.overdue
        or report.recovered
        or report.redispatched
        or report.batches_finalized
        or report.campaigns_redriven
    ):
        log.info("reconcile: %s", report.model_dump())
    return report
