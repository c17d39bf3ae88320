"""Dispatch: claim a chunk's jobs, start them on the executor, publish `dispatched`."""

from __future__ import annotations

import json
import uuid
from typing import Any

from google.api_core import exceptions as gexc
from pydantic import BaseModel

from omtx import metrics
from omtx.domain import Batch, BatchStatus, Job
from omtx.errors import PermanentError, TransientError
from omtx.events import JobDone, JobsDispatched, JobsDone, JobsSubmitted
from omtx.executors import get_executor
from omtx.gcp import capacity, pubsub, storage
from omtx.gcp.firestore import batches as batch_store
from omtx.gcp.firestore import claims
from omtx.gcp.firestore import jobs as job_store
from omtx.predictors.base import LigandTask, ModelSpec
from omtx.predictors.registry import get_model
from omtx.settings import get_settings
from omtx.usecases.fanout import fan_out_range
from omtx.worker import WorkOrder, job_prefix


class DispatchOutcome(BaseModel):
    claimed: int
    cached: int = 0
    call_id: str | None = None


def on_submitted(event: JobsSubmitted) -> BaseModel:
    return fan_out_range(event) if event.range is not None else dispatch_chunk(event)


def dispatch_chunk(event: JobsSubmitted) -> DispatchOutcome:
    settings = get_settings()
    batch = batch_store.get_batch(event.batch_id)
    if batch is None:
        raise PermanentError(f"batch {event.batch_id} does not exist")
    if batch.status.is_final:
        return DispatchOutcome(claimed=0)
    executor = get_executor()
    call_id = f"{executor.name}-{uuid.uuid4().hex[:16]}"
    # Claiming first is what makes a redelivered `submitted` harmless: claimed jobs are skipped.
    spec = get_model(batch.model)
    check_capacity(spec)
    deadline_s = spec.job_deadline_s or settings.job_deadline_s
    lease_s = executor.start_lease_s(deadline_s)
    jobs = claims.claim_jobs(event.batch_id, event.job_ids, executor.name, call_id, deadline_s, lease_s=lease_s)
    if not jobs:
        return DispatchOutcome(claimed=0)
    if batch.status == BatchStatus.QUEUED:
        batch_store.mark_running(event.batch_id)
    # A design run is stochastic and its own: never answered from another's results.
    reusable = batch.cache and spec.cacheable and batch.kind == "ligands"
    cached = answer_from_cache(batch, jobs) if reusable else set()
    jobs = [j for j in jobs if j.job_id not in cached]
    if not jobs:
        return DispatchOutcome(claimed=len(cached), cached=len(cached))
    order = work_order(batch, jobs, executor.name, call_id)
    job_ids = [j.job_id for j in jobs]
    try:
        executor_call_id = executor.start(order)
    except Exception:
        # Hand the jobs back so the redelivery of this message can claim and start them.
        claims.release_jobs(jobs)
        raise
    if executor_call_id != call_id:
        claims.record_executor_call(event.batch_id, call_id, executor_call_id)
    pubsub.publish(
        settings.topic_dispatched,
        [JobsDispatched(batch_id=event.batch_id, job_ids=job_ids, executor=executor.name, call_id=call_id)],
    )
    return DispatchOutcome(claimed=len(jobs) + len(cached), cached=len(cached), call_id=call_id)


def work_order(batch: Batch, jobs: list[Job], executor: str, call_id: str) -> WorkOrder:
    """The order one executor call runs: these claimed jobs, with the claim tokens to echo."""
    return WorkOrder(
        batch_id=batch.batch_id,
        tenant=batch.tenant,
        model=batch.model,
        params=batch.params,
        protein=batch.protein,
        ligands=[
            LigandTask(
                job_id=j.job_id,
                index=j.index,
                name=j.design.tag if j.design else j.ligand_name,
                canonical_smiles=j.canonical_smiles,
                design=j.design,
                shard=j.shard,
                claim_token=j.claim_token,
            )
            for j in jobs
        ],
        executor=executor,
        call_id=call_id,
    )


class AtCapacity(TransientError):
    """The model has its maximum of calls in flight; the message comes back after a backoff."""


def check_capacity(spec: ModelSpec) -> None:
    """Backpressure, not dropped work: above the limit the `submitted` message is nacked and
    Pub/Sub redelivers it with exponential backoff. Concurrent dispatchers may overshoot by
    the chunks they start at the same moment; a leased semaphore would make it exact."""
    limit = get_settings().max_calls_in_flight.get(spec.name, spec.max_calls_in_flight)
    if limit is None:
        return
    in_flight = capacity.jobs_in_flight(spec.name)
    if in_flight >= limit * spec.chunk_size:
        metrics.count("dispatch.at_capacity")
        raise AtCapacity(f"{spec.name} has {in_flight} jobs in flight (limit {limit} calls of {spec.chunk_size})")


def answer_from_cache(batch: Batch, jobs: list[Job]) -> set[str]:
    """Claimed jobs whose input (model version, parameters, protein, molecule) already has a
    succeeded result are reported done with that result, through `job-done` like any worker
    report, so complete counts them exactly once. Returns their ids."""
    hits = job_store.cached_results([j.input_hash for j in jobs])
    reports = [
        report
        for job in jobs
        if (source := hits.get(job.input_hash)) is not None and (report := cached_report(job, source)) is not None
    ]
    if reports:
        pubsub.publish(
            get_settings().topic_job_done,
            [JobsDone(batch_id=batch.batch_id, results=reports[i : i + 100]) for i in range(0, len(reports), 100)],
        )
    return {r.job_id for r in reports}


OTHER_TENANT = "(another tenant)"


def _own_copy(uri: str, bucket: str, name: str, ids: dict[str, Any]) -> str:
    """A cache hit's copy of one of its source's files; metadata.json says whose it now is."""
    if name.endswith("/metadata.json"):
        metadata = json.loads(storage.get_bytes(uri)) | ids
        return storage.put_bytes(bucket, name, json.dumps(metadata).encode(), "application/json")
    return storage.copy(uri, bucket, name)


def cached_report(job: Job, source: Job) -> JobDone | None:
    """The job's own results.json (its ids, the source's metrics and raw output, `cached_from`)
    and its own copy of every other file: server-side copies, no bytes through dispatch. Never
    links into the source's folder, so deleting the source batch leaves this one whole (a link
    would answer 404 after that delete; reference counts would make every delete a query of who
    still links, and copying on delete would rewrite other batches' documents and result files).
    metadata.json is rewritten for this job. Across tenants the source is not named: reuse must
    not tell one tenant what another screened. None: the source's files are gone (its batch was
    deleted since it was found), so the job runs."""
    same_tenant = bool(source.tenant) and source.tenant == job.tenant
    cached_from = f"{source.batch_id}/{source.job_id}" if same_tenant else OTHER_TENANT
    bucket = get_settings().results_bucket
    prefix = job_prefix(job.batch_id, job.job_id)
    ligand = {
        "job_id": job.job_id,
        "index": job.index,
        "name": job.ligand_name,
        "canonical_smiles": job.canonical_smiles,
    }
    ids = {"batch_id": job.batch_id, "job_id": job.job_id, "ligand": ligand, "cached_from": cached_from}
    try:
        result: dict[str, Any] = json.loads(storage.get_bytes(source.result_uri)) if source.result_uri else {}
        files = {
            name: _own_copy(uri, bucket, f"{prefix}/{name}", ids)
            for name, uri in source.files.items()
            if name != "results.json"
        } | {"results.json": storage.gcs_uri(bucket, f"{prefix}/results.json")}
    except gexc.NotFound:
        return None
    result |= ids | {"files": files, "duration_s": 0.0}
    bucket, name = storage.split_uri(files["results.json"])
    storage.put_bytes(bucket, name, json.dumps(result).encode(), "application/json")
    return JobDone(
        batch_id=job.batch_id,
        job_id=job.job_id,
        status="succeeded",
        shard=job.shard,
        claim_token=job.claim_token,
        metrics=source.metrics,
        result_uri=files["results.json"],
        files=files,
        executor="cache",
        call_id=job.call_id,
        duration_s=0.0,
        cached_from=cached_from,
    )
