"""Screening campaigns: campaigns/{campaign}, and its create-only claims
campaigns/{campaign}/claims/advance-{n} (the one step from stage n to stage n+1) and
campaigns/{campaign}/claims/finish (the one campaign-done).

Invariant: however often a stage's batch-done is delivered (duplicates, replays, the
reconciler), the step after stage n is taken by the holder of advance-{n} alone, and the claim is
marked done only once that step is recorded; a holder that died leaves an expired lease that the
next delivery or the reconciler takes over. The next stage's batch has an id derived from the
campaign and stage and is submitted under an idempotency key, so even a holder that dies between
creating the batch and recording it cannot make a second one. The campaign document is written by
claim holders (stage started, stage finished, final status) and by cancel (a flag only)."""

from __future__ import annotations

from typing import Any

from google.cloud import firestore

from omtx import metrics
from omtx.campaigns.state import Campaign, CampaignStatus, StageState
from omtx.domain import utcnow
from omtx.gcp.clients import firestore_client
from omtx.gcp.firestore.common import (
    as_document,
    claim_lease,
    fields_of,
    finish_lease,
    release_lease,
    stream_fields,
    tenant_page,
)

COLLECTION = "campaigns"


def campaign_ref(campaign_id: str) -> firestore.DocumentReference:
    return firestore_client().collection(COLLECTION).document(campaign_id)


def _claim_ref(campaign_id: str, name: str) -> firestore.DocumentReference:
    return campaign_ref(campaign_id).collection("claims").document(name)


def create_campaign(campaign: Campaign) -> None:
    campaign_ref(campaign.campaign_id).create(as_document(campaign))
    metrics.count("firestore.writes")


def get_campaign(campaign_id: str) -> Campaign | None:
    snap = campaign_ref(campaign_id).get()
    return Campaign.model_validate(fields_of(snap)) if snap.exists else None


def list_campaigns(
    tenant: str, *, limit: int, status: str | None = None, cursor: str | None = None
) -> tuple[list[Campaign], str | None]:
    """Newest first; the cursor is the id of the last campaign of the previous page."""
    rows, more = tenant_page(COLLECTION, tenant, limit=limit, status=status, cursor=cursor, what="campaign")
    found = [Campaign.model_validate(fields) for fields in rows]
    return found, (found[-1].campaign_id if more else None)


def running_campaigns(limit: int) -> list[Campaign]:
    query = (
        firestore_client()
        .collection(COLLECTION)
        .where(filter=firestore.FieldFilter("status", "==", CampaignStatus.RUNNING.value))
        .limit(limit)
    )
    return [Campaign.model_validate(fields) for fields in stream_fields(query)]


def record_stage(campaign_id: str, n: int, state: StageState) -> None:
    """Stage n started (its batch exists). Written by advance-{n-1}'s holder (or at submit for
    stage 0) before that claim is marked done."""
    campaign_ref(campaign_id).update({f"progress.`{n}`": as_document(state)})
    metrics.count("firestore.writes")


def record_stage_end(campaign_id: str, n: int, changes: dict[str, Any]) -> None:
    campaign_ref(campaign_id).update({f"progress.`{n}`.{k}": v for k, v in changes.items()})
    metrics.count("firestore.writes")


def finish_campaign(campaign_id: str, status: CampaignStatus, reason: str, results: dict[str, str]) -> None:
    """Written by the finish claim's holder only."""
    campaign_ref(campaign_id).update(
        {"status": status.value, "reason": reason, "results": results, "finished_at": utcnow()}
    )
    metrics.count("firestore.writes")


def request_cancel(campaign_id: str) -> None:
    """A flag: the claim holders read it and start no further stage."""
    campaign_ref(campaign_id).update({"cancel_requested": True})
    metrics.count("firestore.writes")


def claim_advance(campaign_id: str, n: int, owner: str, lease_s: int) -> str | None:
    return claim_lease(_claim_ref(campaign_id, f"advance-{n}"), owner, lease_s)


def release_advance(campaign_id: str, n: int, token: str) -> None:
    release_lease(_claim_ref(campaign_id, f"advance-{n}"), token)


def finish_advance(campaign_id: str, n: int, token: str) -> None:
    finish_lease(_claim_ref(campaign_id, f"advance-{n}"), token)


def claim_finish(campaign_id: str, owner: str, lease_s: int) -> str | None:
    return claim_lease(_claim_ref(campaign_id, "finish"), owner, lease_s)


def release_finish(campaign_id: str, token: str) -> None:
    release_lease(_claim_ref(campaign_id, "finish"), token)


def finish_finish(campaign_id: str, token: str) -> None:
    finish_lease(_claim_ref(campaign_id, "finish"), token)


def advance_done(campaign_id: str, n: int) -> bool:
    snap = _claim_ref(campaign_id, f"advance-{n}").get()
    return bool(snap.exists and snap.get("state") == "done")
