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

from datetime import datetime
from typing import Any

from google.cloud import firestore

from omtx import metrics
from omtx.domain import BatchStatus, Counts, utcnow
from omtx.gcp.clients import firestore_client
from omtx.gcp.firestore.common import batch_ref, claim_lease, claim_ref, finish_lease, release_lease


def claim_finalization(batch_id: str, owner: str, lease_s: int) -> str | None:
    """Create-only claim with a lease (common.claim_lease): one finaliser wins however often the
    trigger fires; the token it gets guards its later writes to the claim."""
    return claim_lease(claim_ref(batch_id), owner, lease_s)


def release_finalization(batch_id: str, token: str) -> None:
    """Expire the lease rather than delete the claim: the next trigger or the reconciler (which
    looks for expired claims) takes over, even when the batch already shows a final status."""
    release_lease(claim_ref(batch_id), token)


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
    finish_lease(claim_ref(batch_id), token)


def finalization_done(batch_id: str) -> bool:
    snap = claim_ref(batch_id).get()
    return bool(snap.exists and snap.get("state") == "done")
