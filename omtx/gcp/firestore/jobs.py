"""Job documents: batches/{batch}/jobs/{job}, created once and read here.

Jobs are created create-only, with their batch (batches.create_batch) or a range at a time by
fan-out (`create_jobs`), so a redelivered fan-out never resets a job that already ran. After
that only status changes write a job, each conditional on what it was decided on: queued →
dispatched → queued (claims), → succeeded / failed, counted once (completion), → cancelled
(cancellation) and failed → queued (retries). The reads decode raw protobufs (`stream_fields`)
because finalisation and the results pages read every job.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import firestore

from omtx import metrics
from omtx.domain import BatchStatus, Job, JobStatus
from omtx.errors import TransientError
from omtx.gcp.clients import firestore_client
from omtx.gcp.firestore import batches, cancellation
from omtx.gcp.firestore.common import (
    IN_QUERY_LIMIT,
    as_document,
    batch_ref,
    commit_in_chunks,
    count_of,
    fields_of,
    get_fields,
    job_ref,
    stream_fields,
    token_of,
)

# Job fields a results view may filter or order by (omtx.results.catalog), besides metrics.*
JOB_FIELDS = {"index", "ligand_name", "status", "inchikey", "canonical_smiles", "duration_s"}


def create_jobs(batch_id: str, jobs: Sequence[Job]) -> int:
    """Creates the jobs that do not exist yet (a redelivered fan-out must not reset a job that
    already ran); returns how many were created."""
    refs = [job_ref(batch_id, job.job_id) for job in jobs]
    existing = {snap.id for snap in firestore_client().get_all(refs, field_paths=["index"]) if snap.exists}
    metrics.count("firestore.reads", len(refs))
    missing = [job for job in jobs if job.job_id not in existing]
    try:
        commit_in_chunks(("create", job_ref(batch_id, job.job_id), as_document(job)) for job in missing)
    except gexc.AlreadyExists as exc:
        # another delivery of the same range is writing it: let Pub/Sub retry this one
        raise TransientError(f"jobs of batch {batch_id} are being created concurrently") from exc
    if missing and (batch := batches.get_batch(batch_id)) is not None and batch.status == BatchStatus.CANCELLED:
        # Cancelled while this range was written: the cancel's sweep ran before these jobs
        # existed (it read them after marking the batch, this read follows the commit) and
        # nothing will dispatch them, so they end here, as the cancel already counted them.
        cancellation.cancel_jobs(jobs_in_status(batch_id, [JobStatus.QUEUED.value]), cancellation.CANCELLED_REASON)
    return len(missing)


def get_job(batch_id: str, job_id: str) -> Job | None:
    snap = job_ref(batch_id, job_id).get()
    return Job.model_validate(fields_of(snap)) if snap.exists else None


def job_rows(batch_id: str, job_ids: Sequence[str], select: Sequence[str] | None) -> list[dict[str, Any]]:
    """Job documents by id (a lookup, no query), only the `select` field paths; missing ones are
    left out, the order is not kept."""
    found = get_fields([job_ref(batch_id, job_id) for job_id in job_ids], select)
    metrics.count("firestore.reads", len(job_ids))
    return [fields for fields in found if fields is not None]


def count_jobs(batch_id: str) -> int:
    return count_of(batch_ref(batch_id).collection("jobs"))


def iter_jobs(batch_id: str, *, limit: int | None = None) -> Iterator[Job]:
    query = batch_ref(batch_id).collection("jobs").order_by("index")
    if limit is not None:
        query = query.limit(limit)
    for fields in stream_fields(query):
        yield Job.model_validate(fields)


def stream_rows(
    batch_id: str,
    *,
    select: Sequence[str] | None,
    filters: Sequence[tuple[str, str, Any]] = (),
    order: Sequence[tuple[str, bool]] = (),
    after: Sequence[Any] | None = None,
    limit: int | None = None,
) -> Iterator[dict[str, Any]]:
    """A batch's job documents as plain dicts, only the `select` field paths read (None: all),
    filtered, ordered by (path, descending) pairs and starting after the `after` values of those
    paths: a keyset, never an offset. The results views' Firestore source (omtx.results.live);
    it checks every path and value before they reach here."""
    query: Any = batch_ref(batch_id).collection("jobs")
    if select is not None:
        query = query.select(list(select))
    for path, op, value in filters:
        query = query.where(filter=firestore.FieldFilter(path, op, value))
    for path, descending in order:
        query = query.order_by(path, direction=firestore.Query.DESCENDING if descending else firestore.Query.ASCENDING)
    if after is not None:
        query = query.start_after(list(after))
    if limit is not None:
        query = query.limit(limit)
    yield from stream_fields(query)


def jobs_in_status(batch_id: str, statuses: Sequence[str], limit: int | None = None) -> list[tuple[Job, str]]:
    """A batch's jobs in these statuses, with their update times (claim tokens)."""
    query: Any = batch_ref(batch_id).collection("jobs").where(filter=firestore.FieldFilter("status", "in", statuses))
    if limit is not None:
        query = query.limit(limit)
    found = [(Job.model_validate(fields_of(snap)), token_of(snap.update_time)) for snap in query.stream()]
    metrics.count("firestore.reads", len(found))
    return found


def queued_job_ids(batch_id: str) -> list[str]:
    query = (
        batch_ref(batch_id)
        .collection("jobs")
        .where(filter=firestore.FieldFilter("status", "==", JobStatus.QUEUED.value))
        .order_by("index")
    )
    return [fields["job_id"] for fields in stream_fields(query)]


def oldest_queued_job() -> Job | None:
    """Across batches; the collection-group index on (status, queued_at) the reconciler uses."""
    query = (
        firestore_client()
        .collection_group("jobs")
        .where(filter=firestore.FieldFilter("status", "==", JobStatus.QUEUED.value))
        .order_by("queued_at")
        .limit(1)
    )
    return next((Job.model_validate(fields) for fields in stream_fields(query)), None)


def cached_results(input_hashes: Sequence[str]) -> dict[str, Job]:
    """A succeeded job for each input hash that has one, from any batch: the result cache is the
    jobs themselves (a collection-group query on input_hash), so it costs no write."""
    found: dict[str, Job] = {}
    unique = sorted(set(input_hashes))
    jobs = firestore_client().collection_group("jobs")
    for start in range(0, len(unique), IN_QUERY_LIMIT):
        query = jobs.where(filter=firestore.FieldFilter("input_hash", "in", unique[start : start + IN_QUERY_LIMIT]))
        query = query.where(filter=firestore.FieldFilter("status", "==", JobStatus.SUCCEEDED.value))
        for snap in query.stream():
            metrics.count("firestore.reads")
            job = Job.model_validate(fields_of(snap))
            found.setdefault(job.input_hash, job)
    return found
