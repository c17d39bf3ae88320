"""What every Firestore module shares: document references, commits that count their writes, the
update-time precondition that stands in for transactions, and a fast query decoder.

Update times are the concurrency tokens throughout: a writer that read a document at update time
T writes it only if it is still at T, so of two writers that read the same version one wins and
the other learns it lost (None, or FailedPrecondition) instead of overwriting it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import timedelta
from enum import Enum
from typing import Any

from google.api_core import exceptions as gexc
from google.api_core.datetime_helpers import DatetimeWithNanoseconds
from google.cloud import firestore
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import BaseModel

from omtx import metrics
from omtx.domain import utcnow
from omtx.envelopes import value_of
from omtx.gcp.clients import firestore_client

WRITE_BATCH_LIMIT = 500  # portable limit; the emulator accepts more but production does not
IN_QUERY_LIMIT = 30  # values in one `in` filter
TRANSIENT = (gexc.Aborted, gexc.ServiceUnavailable, gexc.DeadlineExceeded, gexc.InternalServerError)

Write = tuple[str, firestore.DocumentReference, dict[str, Any]]  # ("create" | "set" | …, ref, data)


class InvalidCursor(ValueError):
    """A pagination cursor that names nothing in this listing."""


def as_document(model: BaseModel, *, exclude: set[str] | None = None) -> dict[str, Any]:
    data = model.model_dump(exclude=exclude)
    return {k: (v.value if isinstance(v, Enum) else v) for k, v in data.items()}


def fields_of(snap: firestore.DocumentSnapshot) -> dict[str, Any]:
    """The snapshot's fields without the deep copy `to_dict()` makes: they are validated into a
    model straight away, and the copy was a quarter of a results page's CPU time."""
    return snap._data or {}


def batch_ref(batch_id: str) -> firestore.DocumentReference:
    return firestore_client().collection("batches").document(batch_id)


def job_ref(batch_id: str, job_id: str) -> firestore.DocumentReference:
    return batch_ref(batch_id).collection("jobs").document(job_id)


def shard_ref(batch_id: str, shard: int) -> firestore.DocumentReference:
    return batch_ref(batch_id).collection("shards").document(f"{shard:04d}")


def call_ref(batch_id: str, call_id: str) -> firestore.DocumentReference:
    """One executor call (a chunk's worker call): its jobs and its lease (leases.py)."""
    return batch_ref(batch_id).collection("calls").document(call_id)


def claim_ref(batch_id: str) -> firestore.DocumentReference:
    """The batch's finalisation claim: taken by the aggregator and by cancel, deleted by a retry."""
    return batch_ref(batch_id).collection("claims").document("finalize")


def commit_in_chunks(ops: Iterator[Write]) -> None:
    client = firestore_client()
    batch = client.batch()
    pending = 0
    for kind, ref, data in ops:
        getattr(batch, kind)(ref, data)
        pending += 1
        if pending == WRITE_BATCH_LIMIT:
            commit(batch, pending)
            batch, pending = client.batch(), 0
    if pending:
        commit(batch, pending)


def commit(batch: firestore.WriteBatch, writes: int) -> list[Any]:
    results: list[Any] = batch.commit()
    metrics.count("firestore.writes", writes)
    return results


def unchanged_since(seen: Any) -> Any:
    """The write option that fails a write (FailedPrecondition) unless the document is still at
    `seen`: its update time, or a token of it (`token_of`)."""
    if isinstance(seen, str):
        seen = DatetimeWithNanoseconds.from_rfc3339(seen)
    return firestore_client().write_option(last_update_time=seen)


def update_if_unchanged(ref: firestore.DocumentReference, changes: dict[str, Any], seen: Any) -> Any:
    """Update unless the document changed since it was read at `seen` (its update time, or a
    claim token). Returns the write result, or None when someone else got there first."""
    try:
        result = ref.update(changes, option=unchanged_since(seen))
    except gexc.FailedPrecondition:
        return None
    metrics.count("firestore.writes")
    return result


def token_of(update_time: Any) -> str:
    """A document's update time, exactly (nanoseconds), as text that survives JSON. Query
    snapshots carry a protobuf Timestamp, lookups and commits a DatetimeWithNanoseconds."""
    if isinstance(update_time, Timestamp):
        update_time = DatetimeWithNanoseconds.from_timestamp_pb(update_time)
    return str(update_time.rfc3339())


def tenant_page(
    collection: str, tenant: str, *, limit: int, status: str | None, cursor: str | None, what: str
) -> tuple[list[dict[str, Any]], bool]:
    """A page of a tenant's documents, newest first, after the one `cursor` names (the id of the
    last of the previous page, and the tenant's own: anything else is an InvalidCursor naming
    `what`): its documents' fields, and whether more follow."""
    documents = firestore_client().collection(collection)
    query: Any = documents.where(filter=firestore.FieldFilter("tenant", "==", tenant))
    if status:
        query = query.where(filter=firestore.FieldFilter("status", "==", status))
    query = query.order_by("created_at", direction=firestore.Query.DESCENDING)
    if cursor:
        after = documents.document(cursor).get()
        if not after.exists or after.get("tenant") != tenant:
            raise InvalidCursor(f"cursor {cursor!r} does not name a {what}")
        query = query.start_after(after)
    rows = list(stream_fields(query.limit(limit + 1)))
    return rows[:limit], len(rows) > limit


def stream_fields(query: Any) -> Iterator[dict[str, Any]]:
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
        yield from (fields_of(snap) for snap in query.stream())
        return
    for response in responses:
        pb = type(response).pb(response)
        if pb.HasField("document"):
            yield {key: value_of(value) for key, value in pb.document.fields.items()}


def get_fields(
    refs: Sequence[firestore.DocumentReference], select: Sequence[str] | None = None
) -> list[dict[str, Any] | None]:
    """Documents by reference as plain dicts (None: not there), in the order asked, only the
    `select` field paths read (None: all). Decoded from the raw protobufs as `stream_fields`
    does: `get_all` wraps every value in proto-plus objects first, which was most of the API's
    CPU time for a running batch's page by key, and a fifth of every batch read's."""
    client = firestore_client()
    try:
        paths = [ref._document_path for ref in refs]
        request: dict[str, Any] = {"database": client._database_string, "documents": paths}
        if select is not None:
            request["mask"] = {"field_paths": list(select)}
        responses = client._firestore_api.batch_get_documents(request=request, metadata=client._rpc_metadata)
    except AttributeError:  # pragma: no cover - depends on the client release
        snaps = {snap.reference.path: snap for snap in client.get_all(list(refs), field_paths=select)}
        return [fields_of(snaps[ref.path]) if snaps[ref.path].exists else None for ref in refs]
    found: dict[str, dict[str, Any]] = {}
    for response in responses:
        pb = type(response).pb(response)
        if pb.HasField("found"):
            found[pb.found.name] = {key: value_of(value) for key, value in pb.found.fields.items()}
    return [found.get(path) for path in paths]


def count_of(query: Any) -> int:
    """How many documents match, by an aggregation query (billed as one read per 1,000)."""
    rows: Any = query.count(alias="n").get()
    return sum(int(r.value) for row in rows for r in row)


def claim_lease(ref: firestore.DocumentReference, owner: str, lease_s: int) -> str | None:
    """Create-only claim with a lease: one holder wins however often the trigger fires. An
    expired lease (a holder that died) can be taken over, guarded by its update time. Returns
    the claim's token (its update time) to the winner, None to everyone else; the winner's later
    writes to the claim (`release_lease`, `finish_lease`) are conditional on it, so a holder that
    outlived its lease cannot undo the one that took over."""
    now = utcnow()
    claim = {"owner": owner, "state": "claimed", "claimed_at": now, "lease_until": now + timedelta(seconds=lease_s)}
    try:
        result = ref.create(claim)
        metrics.count("firestore.writes")
        return token_of(result.update_time)
    except gexc.AlreadyExists:
        pass
    snap = ref.get()
    if not snap.exists:
        return claim_lease(ref, owner, lease_s)  # deleted in between: try again
    data = fields_of(snap)
    if data.get("state") == "done" or data["lease_until"] > now:
        return None
    taken = update_if_unchanged(snap.reference, claim, snap.update_time)
    return token_of(taken.update_time) if taken is not None else None


def release_lease(ref: firestore.DocumentReference, token: str) -> None:
    """Expire the lease rather than delete the claim, so the next trigger or the reconciler takes over."""
    update_if_unchanged(ref, {"lease_until": utcnow()}, token)


def finish_lease(ref: firestore.DocumentReference, token: str) -> None:
    """From here on every trigger is a no-op."""
    update_if_unchanged(ref, {"state": "done", "done_at": utcnow()}, token)
