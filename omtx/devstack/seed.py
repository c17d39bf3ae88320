"""Batches written straight into a local stack, for load tests and benchmarks of the read side:
creating a finished 100,000-job batch through the pipeline takes many minutes on a laptop.

`running_batch` writes a batch and its jobs, already terminal with metrics, through the store's
own functions (batches.create_batch); `finish` then runs the real aggregation (every result file,
the Parquet export included) and marks the batch final as the aggregator does. `exported_batch`
skips the job documents: a final batch document whose Parquet export the aggregation's own
writer made from synthetic jobs, for cache tests that need many large batches quickly."""

from __future__ import annotations

import hashlib
import io
import random
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from omtx.aggregation import Spool
from omtx.domain import Batch, BatchStatus, Counts, Job, JobStatus, ProteinIn, utcnow
from omtx.gcp import storage
from omtx.gcp.firestore import batches as batch_store
from omtx.gcp.firestore import finalization
from omtx.gcp.firestore import jobs as job_store
from omtx.ids import job_id, new_batch_id, shard_count, shard_of
from omtx.predictors.registry import get_model
from omtx.settings import get_settings
from omtx.usecases.aggregate import final_status, write_results

SEQUENCE = "MENFQKVEKIGEGTYGVVYKARNKLTGEVVALKKIRLDTETEGVPSTAIREISLLKE"
SMILES = ["CCO", "c1ccccc1", "CC(=O)Oc1ccccc1C(=O)O", "Cn1cnc2c1c(=O)n(C)c(=O)n2C", "CC(C)Cc1ccc(cc1)C(C)C(=O)O"]
Metrics = Callable[[int, random.Random], dict[str, Any]]


def instant_metrics(index: int, rng: random.Random) -> dict[str, Any]:
    """What the instant model reports: one score in [0, 1)."""
    return {"score": round(rng.random(), 6)}


def _batch(n: int, model: str, status: BatchStatus, tenant: str) -> Batch:
    spec = get_model(model)
    batch_id = new_batch_id()
    settings = get_settings()
    return Batch(
        batch_id=batch_id,
        tenant=tenant,
        name=f"seeded-{n}",
        model=spec.name,
        model_version=spec.version,
        protein=ProteinIn(sequence=SEQUENCE),
        status=status,
        total=n,
        shard_count=shard_count(n, settings.jobs_per_counter_shard, settings.max_counter_shards),
        input_uri=f"gs://{settings.inputs_bucket}/batches/{batch_id}/input.json",
        started_at=utcnow(),
    )


def jobs_of(
    batch: Batch, metrics: Metrics = instant_metrics, *, fail_every: int = 0, seed: int = 1, terminal: bool = True
) -> list[Job]:
    """The batch's jobs: succeeded with `metrics`, every `fail_every`-th failed (none with 0);
    with terminal=False the odd ones are still queued, as in a batch half done."""
    rng = random.Random(seed)
    bucket = get_settings().results_bucket
    jobs = []
    for i in range(batch.total):
        smiles = SMILES[i % len(SMILES)]
        failed = bool(fail_every) and (i + 1) % fail_every == 0
        done = terminal or i % 2 == 0
        status = JobStatus.QUEUED if not done else JobStatus.FAILED if failed else JobStatus.SUCCEEDED
        jid = job_id(batch.batch_id, i)
        prefix = f"gs://{bucket}/batches/{batch.batch_id}/jobs/{jid}"
        ok = status == JobStatus.SUCCEEDED
        jobs.append(
            Job(
                job_id=jid,
                batch_id=batch.batch_id,
                model=batch.model,
                tenant=batch.tenant,
                index=i,
                shard=shard_of(i, batch.total, batch.shard_count),
                ligand_name=f"ZINC{i:08d}",
                smiles=smiles,
                canonical_smiles=smiles,
                inchikey=hashlib.sha256(f"{smiles}{i}".encode()).hexdigest()[:27].upper(),
                input_hash=hashlib.sha256(f"{batch.batch_id}{i}".encode()).hexdigest(),
                status=status,
                attempts=1 if done else 0,
                executor="local" if done else None,
                metrics=metrics(i, rng) if ok else {},
                result_uri=f"{prefix}/results.json" if done else None,
                files={"metadata.json": f"{prefix}/metadata.json"} if done else {},
                error="seeded failure" if status == JobStatus.FAILED else None,
                duration_s=round(rng.random() / 100, 4) if done else None,
                finished_at=utcnow() if done else None,
            )
        )
    return jobs


def running_batch(n: int, model: str = "instant", *, tenant: str = "default", **options: Any) -> Batch:
    """A running batch whose n job documents are written (see `jobs_of` for the options)."""
    batch = _batch(n, model, BatchStatus.RUNNING, tenant)
    batch_store.create_batch(batch, jobs_of(batch, **options))
    return batch


def finish(batch: Batch) -> Batch:
    """The aggregation run over the batch's job documents, under the finalisation claim as the
    aggregator runs it, then the batch marked final."""
    statuses = [job.status for job in job_store.iter_jobs(batch.batch_id)]
    counts = Counts(
        total=batch.total,
        succeeded=statuses.count(JobStatus.SUCCEEDED),
        failed=statuses.count(JobStatus.FAILED),
    )
    status = final_status(counts)
    token = finalization.claim_finalization(batch.batch_id, "seed", get_settings().finalize_lease_s)
    assert token is not None, f"batch {batch.batch_id} is being finalised by someone else"
    results = write_results(batch, counts, status)
    finalization.finalize_batch(batch.batch_id, status, counts, results)
    finalization.finish_finalization(batch.batch_id, token)
    found = batch_store.get_batch(batch.batch_id)
    assert found is not None
    return found


def exported_batch(n: int, model: str = "instant", *, tenant: str = "default", seed: int = 1) -> Batch:
    """A completed batch document and its Parquet export, written by the aggregation's own writer
    from n synthetic jobs; no job documents."""
    batch = _batch(n, model, BatchStatus.COMPLETED, tenant)
    bucket = get_settings().results_bucket
    name = f"batches/{batch.batch_id}/results/batch_results.parquet"
    with tempfile.TemporaryDirectory(prefix="omtx-seed-") as tmp:
        work = Path(tmp)
        spool = Spool(work / "rows.jsonl").fill(jobs_of(batch, seed=seed))
        header = {"batch_id": batch.batch_id, "revision": batch.revision}
        spool.export(header, io.StringIO(), io.StringIO(), io.StringIO(), work / "out.parquet")
        uri = storage.put_file(bucket, name, work / "out.parquet", "application/vnd.apache.parquet")
    final = batch.model_copy(update={"results": {"parquet": uri}, "succeeded": n, "failed": 0, "finished_at": utcnow()})
    batch_store.create_batch(final, [])
    return final
