"""What the read API says about a batch and a job: a finished batch's throughput is frozen at its
end; a job answered from the result cache says so, and a retried job counts every attempt."""

from __future__ import annotations

from datetime import timedelta

from omtx.api.batch_routes import batch_view
from omtx.api.result_routes import job_view
from omtx.domain import Batch, BatchStatus, Job, JobStatus, ProteinIn, utcnow


def job(**changes: object) -> Job:
    base = Job(
        job_id="0123456789abcdef", batch_id="b0123456789abcdef", index=0, shard=0, ligand_name="a",
        smiles="C", canonical_smiles="C", inchikey="K", input_hash="h", status=JobStatus.SUCCEEDED,
        executor="local", attempts=1, result_uri="gs://r/results.json",
    )  # fmt: skip
    return base.model_copy(update=changes)


def test_a_cached_answer_names_the_cache_and_a_retry_counts_every_attempt() -> None:
    cached = job_view(job(cached_from="bOther/j1")).model_dump()
    assert cached["executor"] == "cache" and cached["cached_from"] == "bOther/j1"
    retried = job_view(job(attempts=1, earlier_attempts=3, retries=1)).model_dump()
    assert (retried["attempts"], retried["run_attempts"], retried["earlier_attempts"], retried["retries"]) == (
        4,
        1,
        3,
        1,
    )
    assert job_view(job()).model_dump()["executor"] == "local"
    assert set(job_view(job(files={"structure.sdf": "gs://x"})).links) == {"self", "structure.sdf", "results.json"}


def test_a_finished_batch_keeps_its_throughput() -> None:
    now = utcnow()
    batch = Batch(
        batch_id="b0123456789abcdef", tenant="t", model="instant", model_version="1",
        protein=ProteinIn(sequence="MENFQ"), status=BatchStatus.COMPLETED, total=3600, shard_count=1,
        input_uri="gs://x/y", started_at=now - timedelta(hours=3), finished_at=now - timedelta(hours=2),
        succeeded=3600, failed=0,
    )  # fmt: skip
    assert batch_view(batch).jobs_per_s == 1.0  # 3,600 jobs in the hour it ran, not in three
    cancelled = batch.model_copy(
        update={"status": BatchStatus.CANCELLED, "finished_at": None, "cancelled_at": batch.finished_at}
    )
    assert batch_view(cancelled).jobs_per_s == 1.0
