"""Dispatch: claim a chunk's jobs, start them on the executor, publish `dispatched`."""

from __future__ import annotations

import uuid

from pydantic import BaseModel

from omtx.domain import BatchStatus
from omtx.errors import PermanentError
from omtx.events import JobsDispatched, JobsSubmitted
from omtx.executors import get_executor
from omtx.gcp import firestore_store as store
from omtx.gcp import pubsub
from omtx.predictors.base import LigandTask
from omtx.settings import get_settings
from omtx.usecases.fanout import fan_out_range
from omtx.worker import WorkOrder


class DispatchOutcome(BaseModel):
    claimed: int
    call_id: str | None = None


def on_submitted(event: JobsSubmitted) -> BaseModel:
    return fan_out_range(event) if event.range is not None else dispatch_chunk(event)


def dispatch_chunk(event: JobsSubmitted) -> DispatchOutcome:
    settings = get_settings()
    batch = store.get_batch(event.batch_id)
    if batch is None:
        raise PermanentError(f"batch {event.batch_id} does not exist")
    if batch.status.is_final:
        return DispatchOutcome(claimed=0)
    executor = get_executor()
    call_id = f"{executor.name}-{uuid.uuid4().hex[:16]}"
    # Claiming first is what makes a redelivered `submitted` harmless: claimed jobs are skipped.
    jobs = store.claim_jobs(event.batch_id, event.job_ids, executor.name, call_id, settings.job_deadline_s)
    if not jobs:
        return DispatchOutcome(claimed=0)
    order = WorkOrder(
        batch_id=batch.batch_id,
        model=batch.model,
        params=batch.params,
        protein=batch.protein,
        ligands=[
            LigandTask(
                job_id=j.job_id,
                index=j.index,
                name=j.ligand_name,
                canonical_smiles=j.canonical_smiles,
                shard=j.shard,
                claim_token=j.claim_token,
            )
            for j in jobs
        ],
        executor=executor.name,
        call_id=call_id,
    )
    job_ids = [j.job_id for j in jobs]
    try:
        executor_call_id = executor.start(order)
    except Exception:
        # Hand the jobs back so the redelivery of this message can claim and start them.
        store.release_jobs(jobs)
        raise
    if executor_call_id != call_id:
        store.record_executor_call(event.batch_id, call_id, executor_call_id, job_ids)
    if batch.status == BatchStatus.QUEUED:
        store.mark_running(event.batch_id)
    pubsub.publish(
        settings.topic_dispatched,
        [JobsDispatched(batch_id=event.batch_id, job_ids=job_ids, executor=executor.name, call_id=call_id)],
    )
    return DispatchOutcome(claimed=len(jobs), call_id=call_id)
