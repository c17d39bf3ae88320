"""Leases of executor calls: batches/{batch}/calls/{call}, one document per worker call (a chunk).

A dead worker is found by its lease, not by the deadline of its jobs: dispatch creates the call
document with its claim (one commit) and a first lease; while the call waits or runs, whoever
holds it renews the lease every `heartbeat_s` (the worker; the local executor for the calls
waiting in its pool), one write per call whatever its size. A lease that lapsed means the call
is dead or finished: the reconciler settles it (usecases/recovery.py) and closes it (`open`
false), conditional on the version it read, so a renewal that lands meanwhile keeps it open.

A renewal also says what the worker published (`reported`, job id → when) and answers whether the
call's batch was cancelled or deleted, so the worker stops at its next ligand.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore_v1.field_path import FieldPath
from pydantic import BaseModel, Field

from omtx import metrics
from omtx.domain import BatchStatus, Job, JobStatus, utcnow
from omtx.gcp.clients import firestore_client
from omtx.gcp.firestore.common import batch_ref, call_ref, commit, fields_of, job_ref, token_of, update_if_unchanged


class CallKey(NamedTuple):
    batch_id: str
    call_id: str


class Renewal(BaseModel):
    """One call's heartbeat: its lease renewed, with what happened since the last one."""

    key: CallKey
    started: bool = False  # the worker's first heartbeat
    finished: bool = False  # the worker's last: every outcome stored and published
    reported: list[str] = Field(default_factory=list)  # jobs whose job-done went out since the last one
    first_report: bool = False


class Call(BaseModel):
    batch_id: str
    call_id: str
    executor: str | None = None
    job_ids: list[str] = Field(default_factory=list)
    lease_until: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    reported: dict[str, datetime] = Field(default_factory=dict)
    token: str  # the update time it was read at


def new_call(batch_id: str, job_ids: Sequence[str], executor: str, lease_s: float) -> dict[str, Any]:
    """The document dispatch creates with its claim."""
    now = utcnow()
    return {
        "batch_id": batch_id,
        "job_ids": list(job_ids),
        "executor": executor,
        "open": True,
        "at": now,
        "lease_until": now + timedelta(seconds=lease_s),
    }


def renew(renewals: Sequence[Renewal], lease_s: float) -> set[CallKey]:
    """Renew these calls' leases in one commit; returns the calls whose batch was cancelled or
    deleted: their holders should stop."""
    if not renewals:
        return set()
    client = firestore_client()
    batch_ids = sorted({r.key.batch_id for r in renewals})
    snaps = client.get_all([batch_ref(b) for b in batch_ids], field_paths=["status"])
    metrics.count("firestore.reads", len(batch_ids))
    status = {s.id: s.get("status") for s in snaps if s.exists}
    now = utcnow()
    # A cancelled batch's calls are renewed still: their lease says the worker is alive, so the
    # reconciler settles them (removing what they stored) only once they stopped.
    updates = [(call_ref(*r.key), _changes(r, now, lease_s)) for r in renewals if r.key.batch_id in status]
    if updates:
        write = client.batch()
        for ref, changes in updates:
            write.update(ref, changes)
        try:
            commit(write, len(updates))
        except gexc.NotFound:
            # A call without a document (dispatched before leases existed, or its batch was
            # deleted meanwhile): renew the others, never create one.
            for ref, changes in updates:
                try:
                    ref.update(changes)
                except gexc.NotFound:
                    continue
    return {r.key for r in renewals if status.get(r.key.batch_id, BatchStatus.CANCELLED.value) == BatchStatus.CANCELLED}


def give_up(key: CallKey) -> None:
    """The holder knows the call is dead (its worker process died): the lease lapses now, so the
    reconciler's next pass takes its jobs back instead of one lease later."""
    try:
        call_ref(*key).update({"lease_until": utcnow()})
    except gexc.NotFound:
        return
    metrics.count("firestore.writes")


def _changes(renewal: Renewal, now: datetime, lease_s: float) -> dict[str, Any]:
    changes: dict[str, Any] = {"lease_until": now + timedelta(seconds=lease_s), "heartbeat_at": now}
    if renewal.started:
        changes["started_at"] = now
    if renewal.finished:
        changes["finished_at"] = now
    for job_id in renewal.reported:
        changes[FieldPath("reported", job_id).to_api_repr()] = now
    if renewal.first_report:
        changes["first_report_at"] = now
    return changes


def _open_calls(field: str, before: datetime, limit: int) -> list[Call]:
    query = (
        firestore_client()
        .collection_group("calls")
        .where(filter=firestore.FieldFilter("open", "==", True))
        .where(filter=firestore.FieldFilter(field, "<", before))
        .limit(limit)
    )
    calls = [
        Call.model_validate((snap.to_dict() or {}) | {"call_id": snap.id, "token": token_of(snap.update_time)})
        for snap in query.stream()
    ]
    metrics.count("firestore.reads", len(calls))
    return calls


def lapsed_calls(now: datetime, limit: int) -> list[Call]:
    """Open calls whose lease lapsed: their worker died or finished. Needs a collection-group
    index on (open, lease_until) in production."""
    return _open_calls("lease_until", now, limit)


def reporting_calls(before: datetime, limit: int) -> list[Call]:
    """Open calls that first reported before `before`: the reconciler looks for reports whose
    job-done never arrived. Index (open, first_report_at)."""
    return _open_calls("first_report_at", before, limit)


def job_states(call: Call) -> dict[str, tuple[JobStatus, str | None]]:
    """Status and call id of each of the call's jobs, as they are now (just those two fields: a
    finished call's jobs are usually all recorded, and this is all it takes to tell)."""
    refs = [job_ref(call.batch_id, j) for j in call.job_ids]
    snaps = firestore_client().get_all(refs, field_paths=["status", "call_id"])
    metrics.count("firestore.reads", len(refs))
    return {s.id: (JobStatus(s.get("status")), (s._data or {}).get("call_id")) for s in snaps if s.exists}


def dispatched_under(call: Call, job_ids: Sequence[str]) -> list[tuple[Job, str]]:
    """Those of these jobs still dispatched under this call, with their update times (claim tokens)."""
    snaps = firestore_client().get_all([job_ref(call.batch_id, j) for j in job_ids]) if job_ids else []
    jobs = [(Job.model_validate(fields_of(snap)), token_of(snap.update_time)) for snap in snaps if snap.exists]
    metrics.count("firestore.reads", len(job_ids))
    return [(j, t) for j, t in jobs if j.status == JobStatus.DISPATCHED and j.call_id == call.call_id]


def forget_reports(call: Call, job_ids: Sequence[str]) -> None:
    """Checked reports leave the call (a field delete commutes with the worker adding new ones)."""
    if job_ids:
        call_ref(call.batch_id, call.call_id).update(
            {FieldPath("reported", j).to_api_repr(): firestore.DELETE_FIELD for j in job_ids}
        )
        metrics.count("firestore.writes")


def close_call(call: Call) -> bool:
    """Settled: out of the reconciler's queries, unless it was renewed since it was read."""
    return update_if_unchanged(call_ref(call.batch_id, call.call_id), {"open": False}, call.token) is not None
