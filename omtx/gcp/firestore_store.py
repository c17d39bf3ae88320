"""Batch, job and counter state in Firestore.

Layout: batches/{batch}, batches/{batch}/jobs/{job}, batches/{batch}/shards/{nnnn} (counters,
Increment only) and batches/{batch}/claims/finalize. The hot batch document is written at submit
and at finalisation only; no read-modify-write transaction ever touches it or a shard.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from google.api_core import exceptions as gexc
from google.api_core.datetime_helpers import DatetimeWithNanoseconds
from google.cloud import firestore
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import BaseModel

from omtx import metrics
from omtx.domain import Batch, BatchStatus, Counts, Job, JobStatus, utcnow
from omtx.envelopes import value_of
from omtx.errors import PermanentError, TransientError
from omtx.events import JobDone
from omtx.gcp.clients import firestore_client
from omtx.ids import shard_size

log = logging.getLogger(__name__)

WRITE_BATCH_LIMIT = 500  # portable limit; the emulator accepts more but production does not
IN_QUERY_LIMIT = 30  # values in one `in` filter
TRANSIENT = (gexc.Aborted, gexc.ServiceUnavailable, gexc.DeadlineExceeded, gexc.InternalServerError)


def _doc(model: BaseModel, *, exclude: set[str] | None = None) -> dict[str, Any]:
    data = model.model_dump(exclude=exclude)
    return {k: (v.value if isinstance(v, Enum) else v) for k, v in data.items()}


def _fields(snap: firestore.DocumentSnapshot) -> dict[str, Any]:
    """The snapshot's fields without the deep copy `to_dict()` makes: they are validated into a
    model straight away, and the copy was a quarter of a results page's CPU time."""
    return snap._data or {}


def _batch_ref(batch_id: str) -> firestore.DocumentReference:
    return firestore_client().collection("batches").document(batch_id)


def _job_ref(batch_id: str, job_id: str) -> firestore.DocumentReference:
    return _batch_ref(batch_id).collection("jobs").document(job_id)


def _shard_ref(batch_id: str, shard: int) -> firestore.DocumentReference:
    return _batch_ref(batch_id).collection("shards").document(f"{shard:04d}")


def _claim_ref(batch_id: str) -> firestore.DocumentReference:
    return _batch_ref(batch_id).collection("claims").document("finalize")


def _commit_in_chunks(ops: Iterator[tuple[str, firestore.DocumentReference, dict[str, Any]]]) -> None:
    client = firestore_client()
    batch = client.batch()
    pending = 0
    for kind, ref, data in ops:
        getattr(batch, kind)(ref, data)
        pending += 1
        if pending == WRITE_BATCH_LIMIT:
            _commit(batch, pending)
            batch, pending = client.batch(), 0
    if pending:
        _commit(batch, pending)


def _commit(batch: firestore.WriteBatch, writes: int) -> list[Any]:
    results: list[Any] = batch.commit()
    metrics.count("firestore.writes", writes)
    return results


def _update_if_unchanged(ref: firestore.DocumentReference, changes: dict[str, Any], seen: Any) -> Any:
    """Update unless the document changed since it was read at `seen` (its update time, or a
    claim token). Returns the write result, or None when someone else got there first."""
    if isinstance(seen, str):
        seen = DatetimeWithNanoseconds.from_rfc3339(seen)
    try:
        result = ref.update(changes, option=firestore_client().write_option(last_update_time=seen))
    except gexc.FailedPrecondition:
        return None
    metrics.count("firestore.writes")
    return result


def _token(update_time: Any) -> str:
    """A document's update time, exactly (nanoseconds), as text that survives JSON. Query
    snapshots carry a protobuf Timestamp, lookups and commits a DatetimeWithNanoseconds."""
    if isinstance(update_time, Timestamp):
        update_time = DatetimeWithNanoseconds.from_timestamp_pb(update_time)
    return str(update_time.rfc3339())


# --- submit -------------------------------------------------------------------------------------


def create_batch(batch: Batch, jobs: Sequence[Job]) -> None:
    """Batch document, its counter shards (each knowing how many jobs it covers) and the jobs."""

    def ops() -> Iterator[tuple[str, firestore.DocumentReference, dict[str, Any]]]:
        yield "create", _batch_ref(batch.batch_id), _doc(batch)
        for shard in range(batch.shard_count):
            expected = shard_size(shard, batch.total, batch.shard_count)
            yield (
                "create",
                _shard_ref(batch.batch_id, shard),
                {
                    "batch_id": batch.batch_id,
                    "shard": shard,
                    "expected": expected,
                    "succeeded": 0,
                    "failed": 0,
                },
            )
        for job in jobs:
            yield "create", _job_ref(batch.batch_id, job.job_id), _doc(job)

    _commit_in_chunks(ops())


def create_jobs(batch_id: str, jobs: Sequence[Job]) -> int:
    """Creates the jobs that do not exist yet (a redelivered fan-out must not reset a job that
    already ran); returns how many were created."""
    refs = [_job_ref(batch_id, job.job_id) for job in jobs]
    existing = {snap.id for snap in firestore_client().get_all(refs, field_paths=["index"]) if snap.exists}
    metrics.count("firestore.reads", len(refs))
    missing = [job for job in jobs if job.job_id not in existing]
    try:
        _commit_in_chunks(("create", _job_ref(batch_id, job.job_id), _doc(job)) for job in missing)
    except gexc.AlreadyExists as exc:
        # another delivery of the same range is writing it: let Pub/Sub retry this one
        raise TransientError(f"jobs of batch {batch_id} are being created concurrently") from exc
    if missing and (batch := get_batch(batch_id)) is not None and batch.status == BatchStatus.CANCELLED:
        # Cancelled while this range was written: the cancel's sweep ran before these jobs
        # existed (it read them after marking the batch, this read follows the commit) and
        # nothing will dispatch them, so they end here, as the cancel already counted them.
        cancel_jobs(jobs_in_status(batch_id, [JobStatus.QUEUED.value]), CANCELLED_REASON)
    return len(missing)


# --- reads --------------------------------------------------------------------------------------


def get_batch(batch_id: str) -> Batch | None:
    snap = _batch_ref(batch_id).get()
    return Batch.model_validate(_fields(snap)) if snap.exists else None


def get_job(batch_id: str, job_id: str) -> Job | None:
    snap = _job_ref(batch_id, job_id).get()
    return Job.model_validate(_fields(snap)) if snap.exists else None


def get_counts(batch_id: str, total: int) -> Counts:
    """Sum of the shards in one aggregation query (billed as one read per 1,000 shards)."""
    shards = _batch_ref(batch_id).collection("shards")
    rows: Any = shards.sum("succeeded", alias="succeeded").sum("failed", alias="failed").get()
    values = {r.alias: int(r.value or 0) for row in rows for r in row}
    return Counts(total=total, succeeded=values.get("succeeded", 0), failed=values.get("failed", 0))


def count_jobs(batch_id: str) -> int:
    rows: Any = _batch_ref(batch_id).collection("jobs").count(alias="n").get()
    return sum(int(r.value) for row in rows for r in row)


def iter_jobs(batch_id: str, *, limit: int | None = None) -> Iterator[Job]:
    query = _batch_ref(batch_id).collection("jobs").order_by("index")
    if limit is not None:
        query = query.limit(limit)
    for fields in _stream_fields(query):
        yield Job.model_validate(fields)


def _stream_fields(query: Any) -> Iterator[dict[str, Any]]:
    """A query's documents as plain dicts, decoded from the raw protobufs: 2.6× faster than
    `query.stream()` (10,000 job documents: 2.25 s against 5.87 s, measured on the emulator),
    which wraps every value in proto-plus objects first. Finalisation reads every job of a
    batch, so this is its hot path. It uses the client's own request builders; if a client
    release moves them, it falls back to the public stream."""
    client = firestore_client()
    try:
        parent, _ = query._parent._parent_info()
        request = {"parent": parent, "structured_query": query._to_protobuf()}
        responses = client._firestore_api.run_query(request=request, metadata=client._rpc_metadata)
    except AttributeError:  # pragma: no cover - depends on the client release
        yield from (_fields(snap) for snap in query.stream())
        return
    for response in responses:
        pb = type(response).pb(response)
        if pb.HasField("document"):
            yield {key: value_of(value) for key, value in pb.document.fields.items()}


JOB_FIELDS = {"index", "ligand_name", "status", "inchikey", "canonical_smiles", "duration_s"}


def _job_field(name: str) -> str:
    """A results-query field: the job's own fields by name, anything else is a model metric."""
    return name if name in JOB_FIELDS else f"metrics.{name}"


def query_jobs(
    batch_id: str,
    *,
    limit: int,
    order_by: str | None = None,
    descending: bool = False,
    status: str | None = None,
    ranges: Sequence[tuple[str, str, float]] = (),
    cursor: str | None = None,
) -> tuple[list[Job], str | None]:
    """A page of a batch's jobs. The cursor is the id of the last job of the previous page, so
    pages stay exact under any ordering. Ordering by a metric lists the jobs that have it."""
    query: Any = _batch_ref(batch_id).collection("jobs")
    if status:
        query = query.where(filter=firestore.FieldFilter("status", "==", status))
    for name, op, value in ranges:
        query = query.where(filter=firestore.FieldFilter(_job_field(name), op, value))
    if order_by:
        direction = firestore.Query.DESCENDING if descending else firestore.Query.ASCENDING
        query = query.order_by(_job_field(order_by), direction=direction)
    query = query.order_by("index")
    if cursor:
        after = _job_ref(batch_id, cursor).get()
        if not after.exists:
            raise InvalidCursor(f"cursor {cursor!r} does not name a job of this batch")
        query = query.start_after(after)
    rows = list(_stream_fields(query.limit(limit + 1)))
    jobs = [Job.model_validate(fields) for fields in rows[:limit]]
    return jobs, (jobs[-1].job_id if len(rows) > limit else None)


def list_batches(
    tenant: str, *, limit: int, status: str | None = None, cursor: str | None = None
) -> tuple[list[Batch], str | None]:
    """Newest first; the cursor is the id of the last batch of the previous page."""
    query: Any = firestore_client().collection("batches").where(filter=firestore.FieldFilter("tenant", "==", tenant))
    if status:
        query = query.where(filter=firestore.FieldFilter("status", "==", status))
    query = query.order_by("created_at", direction=firestore.Query.DESCENDING)
    if cursor:
        after = _batch_ref(cursor).get()
        if not after.exists or after.get("tenant") != tenant:
            raise InvalidCursor(f"cursor {cursor!r} does not name a batch")
        query = query.start_after(after)
    rows = list(_stream_fields(query.limit(limit + 1)))
    batches = [Batch.model_validate(fields) for fields in rows[:limit]]
    return batches, (batches[-1].batch_id if len(rows) > limit else None)


def overdue_jobs(now: datetime, limit: int) -> list[tuple[Job, str]]:
    """Dispatched jobs whose deadline has passed, across batches, with their claim tokens (the
    update time they were read at: acting on one is guarded by it, so a report that lands
    meanwhile wins). Needs a collection-group index on (status, deadline) in production."""
    query = _jobs_waiting(JobStatus.DISPATCHED, "deadline", now, limit)
    return [(Job.model_validate(_fields(snap)), _token(snap.update_time)) for snap in query.stream()]


def _jobs_waiting(status: JobStatus, since_field: str, before: datetime, limit: int) -> Any:
    """Jobs of every batch in `status` whose `since_field` is earlier than `before`."""
    return (
        firestore_client()
        .collection_group("jobs")
        .where(filter=firestore.FieldFilter("status", "==", status.value))
        .where(filter=firestore.FieldFilter(since_field, "<", before))
        .limit(limit)
    )


def requeue_job(job: Job, token: str, reason: str) -> bool:
    """dispatched → queued for another attempt, unless the job moved on since it was read."""
    changes = {"status": JobStatus.QUEUED.value, "last_error": reason, "queued_at": utcnow()}
    return _update_if_unchanged(_job_ref(job.batch_id, job.job_id), changes, token) is not None


def stale_queued_jobs(queued_before: datetime, limit: int) -> list[Job]:
    """Jobs still queued long after they were queued: their `submitted` message was lost (a
    publish that failed after the write, a message that went to the dead-letter topic)."""
    query = _jobs_waiting(JobStatus.QUEUED, "queued_at", queued_before, limit)
    return [Job.model_validate(fields) for fields in _stream_fields(query)]


def _active_query() -> Any:
    return (
        firestore_client()
        .collection("batches")
        .where(filter=firestore.FieldFilter("status", "in", [BatchStatus.QUEUED.value, BatchStatus.RUNNING.value]))
    )


def active_batches(limit: int) -> list[Batch]:
    return [Batch.model_validate(_fields(snap)) for snap in _active_query().limit(limit).stream()]


def count_active_batches() -> int:
    rows: Any = _active_query().count(alias="n").get()
    return sum(int(r.value) for row in rows for r in row)


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
            job = Job.model_validate(_fields(snap))
            found.setdefault(job.input_hash, job)
    return found


class InvalidCursor(ValueError):
    """A pagination cursor that names nothing in this listing."""


# --- dispatch -----------------------------------------------------------------------------------


def claim_jobs(batch_id: str, job_ids: Sequence[str], executor: str, call_id: str, deadline_s: float) -> list[Job]:
    """Move queued jobs to dispatched, recording executor, call id, attempt and deadline. A job
    already claimed (a redelivery, a racing dispatcher) is skipped: each update carries the
    update-time precondition of the snapshot it was decided on, so one claimant wins."""
    client = firestore_client()
    now = utcnow()
    candidates: list[tuple[firestore.DocumentSnapshot, Job, dict[str, Any]]] = []
    for snap in client.get_all([_job_ref(batch_id, job_id) for job_id in job_ids]):
        if not snap.exists:
            log.warning("job %s of batch %s does not exist; skipped", snap.id, batch_id)
            continue
        job = Job.model_validate(_fields(snap))
        if job.status != JobStatus.QUEUED:
            continue
        # Later attempts get longer: a job that timed out for being slow should not time out again.
        deadline = now + timedelta(seconds=deadline_s * 2 ** min(job.attempts, 4))
        changes = {
            "status": JobStatus.DISPATCHED.value,
            "attempts": job.attempts + 1,
            "executor": executor,
            "call_id": call_id,
            "deadline": deadline,
            "dispatched_at": now,
        }
        candidates.append((snap, job, changes))
    if not candidates:
        return []
    # Common case: one atomic commit for the chunk. If any precondition fails (someone else
    # claimed one of them), nothing was written and each job is claimed on its own.
    batch = client.batch()
    for snap, _, changes in candidates:
        batch.update(snap.reference, changes, option=client.write_option(last_update_time=snap.update_time))
    won: list[tuple[Job, dict[str, Any], str]] = []
    try:
        results = _commit(batch, len(candidates))
        won = [(job, changes, _token(r.update_time)) for (_, job, changes), r in zip(candidates, results, strict=True)]
    except gexc.FailedPrecondition:
        for snap, job, changes in candidates:
            result = _update_if_unchanged(snap.reference, changes, snap.update_time)
            if result is not None:
                won.append((job, changes, _token(result.update_time)))
    return [
        job.model_copy(update=changes | {"status": JobStatus.DISPATCHED, "claim_token": token})
        for job, changes, token in won
    ]


def release_jobs(jobs: Sequence[Job]) -> None:
    """Undo the claims of a call that did not start, so a redelivery can claim them again; a job
    that moved on since its claim (the call started after all and reported) is left alone."""
    for job in jobs:
        if job.claim_token is not None:
            changes = {"status": JobStatus.QUEUED.value, "attempts": job.attempts - 1, "queued_at": utcnow()}
            _update_if_unchanged(_job_ref(job.batch_id, job.job_id), changes, job.claim_token)


def record_executor_call(batch_id: str, call_id: str, executor_call_id: str, job_ids: Sequence[str]) -> None:
    """Where the executor names a call its own way (Modal's fc-… ids), keep the mapping once per
    chunk instead of rewriting every job: cancel and the reconciler look it up here."""
    _batch_ref(batch_id).collection("calls").document(call_id).set(
        {"executor_call_id": executor_call_id, "job_ids": list(job_ids), "at": utcnow()}
    )
    metrics.count("firestore.writes")


def mark_running(batch_id: str) -> None:
    """queued → running, once; a precondition instead of a transaction on the hot document. A
    failed precondition can be another write (a milestone), so it re-reads while still queued."""
    for _ in range(5):
        snap = _batch_ref(batch_id).get()
        if not snap.exists or snap.get("status") != BatchStatus.QUEUED.value:
            return
        changes = {"status": BatchStatus.RUNNING.value, "started_at": utcnow()}
        if _update_if_unchanged(snap.reference, changes, snap.update_time) is not None:
            return


# --- complete -----------------------------------------------------------------------------------


def _outcome(event: JobDone) -> dict[str, Any]:
    return {
        "status": event.status,
        "metrics": event.metrics,
        "result_uri": event.result_uri,
        "files": event.files,
        "error": event.error,
        "duration_s": event.duration_s,
        "finished_at": event.finished_at,
        "cached_from": event.cached_from,
    }


def complete_job(event: JobDone) -> bool:
    """Record one job's terminal state and count it, exactly once. False for a duplicate (or a
    late report of a superseded attempt). See `complete_jobs`."""
    if event.claim_token is not None and event.shard is not None:
        return _complete_with_tokens([event]) == 1
    return _complete_in_transaction(event)


class Completed(BaseModel):
    applied: int = 0  # jobs that changed state; the others were duplicates
    missing: list[str] = []  # job ids that do not exist (recorded by the caller, never retried)


def complete_jobs(events: Sequence[JobDone]) -> Completed:
    """Record several jobs of one batch, each exactly once.

    Fast path, one commit and no read for the whole group: each job's update time at claim (the
    claim token the worker echoes) is the precondition of its terminal update, committed
    atomically with one Increment per counter shard. The first report changes the update time,
    so a redelivery fails its precondition and counts nothing. If any job of the group was
    already recorded, the commit fails as a whole and the jobs are recorded one by one. Jobs
    without a token go through a transaction that reads only their own (cold) document."""
    tokened = [e for e in events if e.claim_token is not None and e.shard is not None]
    done = Completed()
    try:
        done.applied = _complete_with_tokens(tokened) if tokened else 0
        singles = [e for e in events if e not in tokened]
    except _GroupFailed:
        singles = list(events)
    for event in singles:
        try:
            done.applied += complete_job(event)
        except PermanentError:
            done.missing.append(event.job_id)
    return done


class _GroupFailed(Exception):
    """Some job of a group was already recorded or does not exist: record them one by one."""


def _complete_with_tokens(events: Sequence[JobDone]) -> int:
    client = firestore_client()
    batch = client.batch()
    shards: dict[int, dict[str, Any]] = {}
    for event in events:
        assert event.claim_token is not None and event.shard is not None
        batch.update(
            _job_ref(event.batch_id, event.job_id),
            _outcome(event),
            option=client.write_option(last_update_time=DatetimeWithNanoseconds.from_rfc3339(event.claim_token)),
        )
        counts = shards.setdefault(event.shard, {})
        counts[event.status] = counts.get(event.status, 0) + 1
    for shard, counts in shards.items():
        batch.update(_shard_ref(events[0].batch_id, shard), {k: firestore.Increment(n) for k, n in counts.items()})
    try:
        _commit(batch, len(events) + len(shards))
        return len(events)
    except (gexc.FailedPrecondition, gexc.NotFound) as exc:
        if len(events) > 1:
            raise _GroupFailed from exc
        if isinstance(exc, gexc.NotFound):
            raise PermanentError(f"job {events[0].job_id} of batch {events[0].batch_id} does not exist") from exc
        # Recorded already, or the job was claimed again since this attempt started: a late but
        # valid result still counts if the job is not terminal (the GPU work is not thrown away).
        return int(_complete_in_transaction(events[0]))
    except TRANSIENT as exc:
        raise TransientError(f"recording {len(events)} job(s) of batch {events[0].batch_id} failed: {exc}") from exc


def _complete_in_transaction(event: JobDone) -> bool:
    client = firestore_client()
    job_ref = _job_ref(event.batch_id, event.job_id)

    @firestore.transactional
    def apply(tx: firestore.Transaction) -> bool:
        snap = job_ref.get(transaction=tx)
        if not snap.exists:
            raise PermanentError(f"job {event.job_id} of batch {event.batch_id} does not exist")
        if JobStatus(snap.get("status")).is_terminal:
            return False
        tx.update(job_ref, _outcome(event))
        tx.update(_shard_ref(event.batch_id, snap.get("shard")), {event.status: firestore.Increment(1)})
        return True

    try:
        applied = bool(apply(client.transaction()))
    except TRANSIENT as exc:
        raise TransientError(f"recording job {event.job_id} failed: {exc}") from exc
    if applied:
        metrics.count("firestore.writes", 2)
    return applied


# --- aggregate ----------------------------------------------------------------------------------


def claim_finalization(batch_id: str, owner: str, lease_s: int) -> str | None:
    """Create-only claim with a lease: one finaliser wins however often the trigger fires.
    An expired lease (a finaliser that died) can be taken over, guarded by its update time.
    Returns the claim's token (its update time) to the winner, None to everyone else; the
    winner's later writes to the claim are conditional on it, so a finaliser that outlived its
    lease cannot undo the one that took over."""
    ref = _claim_ref(batch_id)
    now = utcnow()
    claim = {
        "owner": owner,
        "state": "claimed",
        "claimed_at": now,
        "lease_until": now + timedelta(seconds=lease_s),
    }
    try:
        result = ref.create(claim)
        metrics.count("firestore.writes")
        return _token(result.update_time)
    except gexc.AlreadyExists:
        pass
    snap = ref.get()
    if not snap.exists:
        return claim_finalization(batch_id, owner, lease_s)  # deleted in between: try again
    data = _fields(snap)
    if data.get("state") == "done" or data["lease_until"] > now:
        return None
    taken = _update_if_unchanged(snap.reference, claim, snap.update_time)
    return _token(taken.update_time) if taken is not None else None


def release_finalization(batch_id: str, token: str) -> None:
    """Expire the lease rather than delete the claim: the next trigger or the reconciler (which
    looks for expired claims) takes over, even when the batch already shows a final status."""
    _update_if_unchanged(_claim_ref(batch_id), {"lease_until": utcnow()}, token)


def stale_finalizations(now: datetime, limit: int) -> list[str]:
    """Batches whose finaliser claimed and then died or failed (lease expired, not done)."""
    query = (
        firestore_client()
        .collection_group("claims")
        .where(filter=firestore.FieldFilter("state", "==", "claimed"))
        .where(filter=firestore.FieldFilter("lease_until", "<", now))
        .limit(limit)
    )
    return [snap.reference.parent.parent.id for snap in query.stream() if snap.reference.parent.parent]


def finalize_batch(
    batch_id: str, status: BatchStatus, counts: Counts, results: dict[str, str], *, cancelled: int | None = None
) -> None:
    changes: dict[str, Any] = {
        "status": status.value,
        "finished_at": utcnow(),
        "results": results,
        "succeeded": counts.succeeded,
        "failed": counts.failed,
    }
    if cancelled is not None:
        changes["cancelled"] = cancelled
    _batch_ref(batch_id).update(changes)
    metrics.count("firestore.writes")


def finish_finalization(batch_id: str, token: str) -> None:
    """Called after batch-done is published: from here on every trigger is a no-op. If another
    finaliser took over meanwhile, it finishes instead (subscribers dedupe on the event id)."""
    _update_if_unchanged(_claim_ref(batch_id), {"state": "done", "done_at": utcnow()}, token)


def finalization_done(batch_id: str) -> bool:
    snap = _claim_ref(batch_id).get()
    return bool(snap.exists and snap.get("state") == "done")


def record_milestone(batch_id: str, percent: int, counts: Counts) -> bool:
    """Each milestone once: a create-only marker decides, then the batch document (one write per
    milestone, six per batch) shows it. Returns False when it was already recorded."""
    now = utcnow()
    try:
        _batch_ref(batch_id).collection("milestones").document(f"p{percent:03d}").create(
            {"percent": percent, "at": now, "done": counts.done}
        )
    except gexc.AlreadyExists:
        return False
    _batch_ref(batch_id).update({f"milestones.p{percent}": {"at": now, "done": counts.done}})
    metrics.count("firestore.writes", 2)
    return True


# --- idempotency keys ---------------------------------------------------------------------------

IDEMPOTENT_LIST_CAP = 1_000  # warnings / rejected rows kept for a replay (documents are ≤ 1 MiB)


class IdempotencyClaim(BaseModel):
    fingerprint: str
    batch_id: str
    owned: bool  # this caller creates the batch
    outcome: dict[str, Any] | None = None  # set once the first request finished


def _key_ref(tenant: str, key: str) -> firestore.DocumentReference:
    digest = hashlib.sha256(f"{tenant}\0{key}".encode()).hexdigest()[:40]
    return firestore_client().collection("idempotency_keys").document(digest)


def claim_idempotency_key(tenant: str, key: str, fingerprint: str, batch_id: str, lease_s: int) -> IdempotencyClaim:
    """Create-only claim of a key; a claim whose owner died (lease expired) can be taken over."""
    ref = _key_ref(tenant, key)
    now = utcnow()
    claim = {
        "tenant": tenant,
        "fingerprint": fingerprint,
        "batch_id": batch_id,
        "state": "creating",
        "lease_until": now + timedelta(seconds=lease_s),
        "created_at": now,
    }
    try:
        ref.create(claim)
        metrics.count("firestore.writes")
        return IdempotencyClaim(fingerprint=fingerprint, batch_id=batch_id, owned=True)
    except gexc.AlreadyExists:
        pass
    snap = ref.get()
    data = _fields(snap)
    seen = IdempotencyClaim(
        fingerprint=data["fingerprint"], batch_id=data["batch_id"], owned=False, outcome=data.get("outcome")
    )
    if seen.fingerprint != fingerprint or data["state"] == "done" or data["lease_until"] > now:
        return seen
    if _update_if_unchanged(snap.reference, claim, snap.update_time) is None:
        return seen
    return IdempotencyClaim(fingerprint=fingerprint, batch_id=batch_id, owned=True)


def forget_idempotency_key(tenant: str, key: str) -> None:
    _key_ref(tenant, key).delete()
    metrics.count("firestore.writes")


def finish_idempotency_key(tenant: str, key: str, outcome: dict[str, Any]) -> None:
    kept = {k: (v[:IDEMPOTENT_LIST_CAP] if isinstance(v, list) else v) for k, v in outcome.items()}
    _key_ref(tenant, key).update({"state": "done", "outcome": kept, "done_at": utcnow()})
    metrics.count("firestore.writes")


# --- bookkeeping --------------------------------------------------------------------------------


def record_rejection(source: str, message_id: str, reason: str, payload: Any) -> None:
    """A permanently bad message is acknowledged, but never silently: it is kept here."""
    firestore_client().collection("rejections").document(f"{source}-{message_id}").set(
        {"source": source, "message_id": message_id, "reason": reason, "payload": payload, "at": utcnow()}
    )
    metrics.count("firestore.writes")


# --- batch control ------------------------------------------------------------------------------

UNFINISHED = [JobStatus.QUEUED.value, JobStatus.DISPATCHED.value]
CANCELLED_REASON = "cancelled: the batch was cancelled before this job finished"


def get_batch_with_token(batch_id: str) -> tuple[Batch, str] | None:
    """The batch and its update time, for a write that must not cross another."""
    snap = _batch_ref(batch_id).get()
    return (Batch.model_validate(_fields(snap)), _token(snap.update_time)) if snap.exists else None


def mark_cancelled(batch_id: str) -> None:
    """A final status at once, so dispatch and fan-out (which skip final batches) stop starting
    work; the counts and result files follow when the cancel finishes."""
    _batch_ref(batch_id).update({"status": BatchStatus.CANCELLED.value, "cancelled_at": utcnow()})
    metrics.count("firestore.writes")


def jobs_in_status(batch_id: str, statuses: Sequence[str], limit: int | None = None) -> list[tuple[Job, str]]:
    """A batch's jobs in these statuses, with their update times (claim tokens)."""
    query: Any = _batch_ref(batch_id).collection("jobs").where(filter=firestore.FieldFilter("status", "in", statuses))
    if limit is not None:
        query = query.limit(limit)
    found = [(Job.model_validate(_fields(snap)), _token(snap.update_time)) for snap in query.stream()]
    metrics.count("firestore.reads", len(found))
    return found


def _apply_if_unchanged(items: Sequence[tuple[firestore.DocumentReference, dict[str, Any], str]]) -> list[bool]:
    """Conditional updates of cold documents: one commit for all of them; if any precondition
    fails nothing was written, and each is tried on its own. Returns which were applied."""
    if not items:
        return []
    client = firestore_client()
    batch = client.batch()
    for ref, changes, token in items:
        option = client.write_option(last_update_time=DatetimeWithNanoseconds.from_rfc3339(token))
        batch.update(ref, changes, option=option)
    try:
        _commit(batch, len(items))
        return [True] * len(items)
    except gexc.FailedPrecondition:
        return [_update_if_unchanged(ref, changes, token) is not None for ref, changes, token in items]


def cancel_jobs(jobs: Sequence[tuple[Job, str]], reason: str) -> list[Job]:
    """queued/dispatched → cancelled, each conditional on the version it was read at: a claim or
    a report that lands meanwhile wins, and the caller reads the job again. A cancelled job is
    terminal, so a late report of it counts nothing (see complete_jobs). Returns those cancelled."""
    changes = {"status": JobStatus.CANCELLED.value, "error": reason, "finished_at": utcnow()}
    applied = _apply_if_unchanged([(_job_ref(j.batch_id, j.job_id), changes, token) for j, token in jobs])
    return [job for (job, _), ok in zip(jobs, applied, strict=True) if ok]


def executor_call_ids(batch_id: str, call_ids: Sequence[str]) -> dict[str, str]:
    """Our call id → the executor's (Modal's fc-…) where dispatch recorded one."""
    refs = [_batch_ref(batch_id).collection("calls").document(c) for c in call_ids]
    found = {snap.id: str(snap.get("executor_call_id")) for snap in firestore_client().get_all(refs) if snap.exists}
    metrics.count("firestore.reads", len(refs))
    return found


def _requeue_writes(batch: firestore.WriteBatch, jobs: Sequence[tuple[Job, str]]) -> None:
    client = firestore_client()
    now = utcnow()
    changes = {
        "status": JobStatus.QUEUED.value,
        "attempts": 0,  # a retry gets every attempt again; `retries` keeps the history
        "retries": firestore.Increment(1),
        "error": None,
        "metrics": {},
        "result_uri": None,
        "files": {},
        "duration_s": None,
        "finished_at": None,
        "cached_from": None,
        "deadline": None,
        "queued_at": now,
    }
    shards: dict[int, int] = {}
    for job, token in jobs:
        option = client.write_option(last_update_time=DatetimeWithNanoseconds.from_rfc3339(token))
        batch.update(_job_ref(job.batch_id, job.job_id), changes, option=option)
        shards[job.shard] = shards.get(job.shard, 0) + 1
    for shard, n in shards.items():
        batch.update(_shard_ref(jobs[0][0].batch_id, shard), {JobStatus.FAILED.value: firestore.Increment(-n)})


def requeue_chunk_size(jobs: Sequence[tuple[Job, str]], reserved: int) -> int:
    """How many of `jobs` fit one commit beside `reserved` other writes and their shards'."""
    shards: set[int] = set()
    for n, (job, _) in enumerate(jobs):
        shards.add(job.shard)
        if n + 1 + len(shards) + reserved > WRITE_BATCH_LIMIT:
            return n
    return len(jobs)


def reopen_batch(batch: Batch, batch_token: str, first: Sequence[tuple[Job, str]]) -> bool:
    """The first commit of a retry: the batch back to running under a new revision, its
    finalisation claim removed (the next finaliser creates a fresh one), and `first` failed jobs
    back to queued with their shards' failed counts lowered, all or nothing. Lowering the
    counts in the same commit is what keeps the aggregator from finalising the reopened batch
    before its jobs are requeued. False if the batch changed since it was read (another retry)."""
    client = firestore_client()
    write = client.batch()
    write.update(
        _batch_ref(batch.batch_id),
        {
            "status": BatchStatus.RUNNING.value,
            "revision": firestore.Increment(1),
            "finished_at": None,
            "succeeded": None,
            "failed": None,
            "reopened_at": utcnow(),
        },
        option=client.write_option(last_update_time=DatetimeWithNanoseconds.from_rfc3339(batch_token)),
    )
    write.delete(_claim_ref(batch.batch_id))
    _requeue_writes(write, first)
    try:
        _commit(write, 2 + len(first))
    except gexc.FailedPrecondition:
        return False
    return True


def requeue_jobs(jobs: Sequence[tuple[Job, str]]) -> int:
    """failed → queued, each with its shard's failed count lowered in the same commit (a job
    changed since it was read is skipped, with nothing counted). Returns how many moved."""
    write = firestore_client().batch()
    _requeue_writes(write, jobs)
    try:
        _commit(write, len(jobs))
        return len(jobs)
    except gexc.FailedPrecondition:
        moved = 0
        for item in jobs:
            single = firestore_client().batch()
            _requeue_writes(single, [item])
            try:
                _commit(single, 2)
                moved += 1
            except gexc.FailedPrecondition:
                continue
        return moved


def queued_job_ids(batch_id: str) -> list[str]:
    query = (
        _batch_ref(batch_id)
        .collection("jobs")
        .where(filter=firestore.FieldFilter("status", "==", JobStatus.QUEUED.value))
        .order_by("index")
    )
    return [fields["job_id"] for fields in _stream_fields(query)]


# --- deletion -----------------------------------------------------------------------------------


def _tombstone_ref(batch_id: str) -> firestore.DocumentReference:
    return firestore_client().collection("deleted_batches").document(batch_id)


def deleted_by(batch_id: str) -> str | None:
    """The tenant that deleted this batch, so a repeated DELETE answers 204 to it alone."""
    snap = _tombstone_ref(batch_id).get()
    return str(snap.get("tenant")) if snap.exists else None


def delete_batch_documents(batch: Batch) -> int:
    """The tombstone first, then every subcollection (whatever its name), the idempotency keys
    that point at the batch, and the batch document last: an interrupted delete leaves the batch
    readable, and deleting again finishes it. Returns the documents deleted."""
    client = firestore_client()
    ref = _batch_ref(batch.batch_id)
    _tombstone_ref(batch.batch_id).set({"tenant": batch.tenant, "batch_id": batch.batch_id, "deleted_at": utcnow()})
    deleted = 0
    for collection in ref.collections():
        deleted += client.recursive_delete(collection)  # each call flushes before returning
    keys = client.collection("idempotency_keys").where(filter=firestore.FieldFilter("batch_id", "==", batch.batch_id))
    for snap in keys.stream():
        snap.reference.delete()
        deleted += 1
    ref.delete()
    metrics.count("firestore.writes", deleted + 2)
    return deleted + 1


# --- operator status ----------------------------------------------------------------------------


def oldest_queued_job() -> Job | None:
    """Across batches; the collection-group index on (status, queued_at) the reconciler uses."""
    query = (
        firestore_client()
        .collection_group("jobs")
        .where(filter=firestore.FieldFilter("status", "==", JobStatus.QUEUED.value))
        .order_by("queued_at")
        .limit(1)
    )
    return next((Job.model_validate(fields) for fields in _stream_fields(query)), None)
