"""The finalisation claim, batches/{batch}/claims/finalize, and the final batch write it guards.

One finaliser per batch revision, however often the trigger fires: the claim is create-only with
a lease, and only a claim whose lease expired (its finaliser died) can be taken over, guarded by
its update time. The winner gets that update time as its token and every later write to the
claim (release, finish) is conditional on it, so a finaliser that outlived its lease cannot undo
the one that took over. The aggregator and cancel both take this claim, so a batch is finalised
by one or the other; `finalize_batch` is called only by the claim's holder. A retry deletes the
claim (retries.reopen_batch) so the reopened revision is finalised afresh.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import firestore

from omtx import metrics
from omtx.domain import BatchStatus, Counts, utcnow
from omtx.gcp.clients import firestore_client
from omtx.gcp.firestore.common import batch_ref, claim_ref, fields_of, token_of, update_if_unchanged


def claim_finalization(batch_id: str, owner: str, lease_s: int) -> str | None:
    """Create-only claim with a lease: one finaliser wins however often the trigger fires.
    An expired lease (a finaliser that died) can be taken over, guarded by its update time.
    Returns the claim's token (its update time) to the winner, None to everyone else; the
    winner's later writes to the claim are conditional on it, so a finaliser that outlived its
    lease cannot undo the one that took over."""
    ref = claim_ref(batch_id)
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
        return token_of(result.update_time)
    except gexc.AlreadyExists:
        pass
    snap = ref.get()
    if not snap.exists:
        return claim_finalization(batch_id, owner, lease_s)  # deleted in between: try again
    data = fields_of(snap)
    if data.get("state") == "done" or data["lease_until"] > now:
        return None
    taken = update_if_unchanged(snap.reference, claim, snap.update_time)
    return token_of(taken.update_time) if taken is not None else None


def release_finalization(batch_id: str, token: str) -> None:
    """Expire the lease rather than delete the claim: the next trigger or the reconciler (which
    looks for expired claims) takes over, even when the batch already shows a final status."""
    update_if_unchanged(claim_ref(batch_id), {"lease_until": utcnow()}, token)


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
    batch_ref(batch_id).update(changes)
    metrics.count("firestore.writes")


def finish_finalization(batch_id: str, token: str) -> None:
    """Called after batch-done is published: from here on every trigger is a no-op. If another
    finaliser took over meanwhile, it finishes instead (subscribers dedupe on the event id)."""
    update_if_unchanged(claim_ref(batch_id), {"state": "done", "done_at": utcnow()}, token)


def finalization_done(batch_id: str) -> bool:
    snap = claim_ref(batch_id).get()
    return bool(snap.exists and snap.get("state") == "done")
