"""API keys, rate-limit windows and tenant budgets: api_keys/{key id}, rate_windows/{key id}-{window}
and tenants/{tenant}.

A key record holds the key's hash, tenant and tier, never the key; it is created once and only
ever gains a `revoked_at` (the first revocation's time stays). A rate window is a request counter
per key and minute, changed by Increment only (with an `expire_at` for a TTL policy), so
concurrent requests each see a distinct count. A tenant's spend changes only by an update
conditional on the version it was read at, so concurrent submissions can never spend past the
budget together; a refund gives back by Increment what a charge took. No read-modify-write
transaction anywhere.
"""

from __future__ import annotations

import random
import time
from datetime import datetime

from google.api_core import exceptions as gexc
from google.cloud import firestore
from pydantic import BaseModel

from omtx import metrics
from omtx.domain import utcnow
from omtx.errors import TransientError
from omtx.gcp.clients import firestore_client
from omtx.gcp.firestore.common import update_if_unchanged
from omtx.tenancy.errors import BudgetExceeded
from omtx.tenancy.keys import Tier
from omtx.tenancy.limits import over_budget

CHARGE_ATTEMPTS = 12


class ApiKeyRecord(BaseModel):
    key_id: str
    tenant: str
    tier: Tier
    hash: str
    label: str | None = None
    created_at: datetime
    revoked_at: datetime | None = None


class TenantBudget(BaseModel):
    tenant: str
    budget_gpu_s: float
    spent_gpu_s: float = 0.0


def _key_ref(key_id: str) -> firestore.DocumentReference:
    return firestore_client().collection("api_keys").document(key_id)


def _tenant_ref(tenant: str) -> firestore.DocumentReference:
    return firestore_client().collection("tenants").document(tenant)


# --- keys ---------------------------------------------------------------------------------------


def create_key(record: ApiKeyRecord) -> None:
    _key_ref(record.key_id).create(record.model_dump(mode="python"))
    metrics.count("firestore.writes")


def get_key(key_id: str) -> ApiKeyRecord | None:
    snap = _key_ref(key_id).get()
    return ApiKeyRecord.model_validate(snap.to_dict()) if snap.exists else None


def list_keys(tenant: str | None = None) -> list[ApiKeyRecord]:
    query: firestore.Query | firestore.CollectionReference = firestore_client().collection("api_keys")
    if tenant is not None:
        query = query.where(filter=firestore.FieldFilter("tenant", "==", tenant))
    keys = [ApiKeyRecord.model_validate(snap.to_dict()) for snap in query.stream()]
    return sorted(keys, key=lambda k: (k.tenant, k.created_at))


def revoke_key(key_id: str) -> ApiKeyRecord | None:
    """Revoked keys stay listed (who had access, until when); revoking twice keeps the first time."""
    ref = _key_ref(key_id)
    snap = ref.get()
    if not snap.exists:
        return None
    record = ApiKeyRecord.model_validate(snap.to_dict())
    if record.revoked_at is None:
        record.revoked_at = utcnow()
        ref.update({"revoked_at": record.revoked_at})
        metrics.count("firestore.writes")
    return record


# --- rate windows -------------------------------------------------------------------------------


def count_request(key_id: str, window: int, expire_at: datetime) -> int:
    """Counts one request in the key's window and returns the window's count including it. The
    Increment's result comes back with the write, so concurrent requests each see a distinct
    count: exactly `limit` of them are let through."""
    ref = firestore_client().collection("rate_windows").document(f"{key_id}-{window}")
    try:
        result = ref.set({"count": firestore.Increment(1), "expire_at": expire_at}, merge=True)
    except (gexc.Aborted, gexc.ServiceUnavailable, gexc.DeadlineExceeded) as exc:
        raise TransientError(f"rate-limit counter unavailable: {exc}") from exc
    metrics.count("firestore.writes")
    return int(result.transform_results[0].integer_value)


# --- budgets ------------------------------------------------------------------------------------


def ensure_tenant(tenant: str, budget_gpu_s: float, *, replace_budget: bool) -> TenantBudget:
    """Creates the tenant with `budget_gpu_s`; an existing tenant keeps its budget unless told."""
    ref = _tenant_ref(tenant)
    try:
        ref.create({"tenant": tenant, "budget_gpu_s": budget_gpu_s, "spent_gpu_s": 0.0, "created_at": utcnow()})
        metrics.count("firestore.writes")
    except gexc.AlreadyExists:
        if replace_budget:
            ref.update({"budget_gpu_s": budget_gpu_s})
            metrics.count("firestore.writes")
    budget = get_budget(tenant)
    assert budget is not None
    return budget


def get_budget(tenant: str) -> TenantBudget | None:
    snap = _tenant_ref(tenant).get()
    return TenantBudget.model_validate(snap.to_dict()) if snap.exists else None


def charge(tenant: str, gpu_s: float) -> TenantBudget:
    """Adds `gpu_s` to what the tenant spent, or raises BudgetExceeded and adds nothing. Each
    attempt is an update conditional on the version it read, so concurrent submissions can
    never spend past the budget together; a lost race re-reads and decides again."""
    ref = _tenant_ref(tenant)
    for attempt in range(CHARGE_ATTEMPTS):
        snap = ref.get()
        if not snap.exists:
            raise BudgetExceeded(f"tenant {tenant} has no GPU budget; an operator sets one with `omtx keys create`")
        budget = TenantBudget.model_validate(snap.to_dict())
        if over_budget(budget.budget_gpu_s, budget.spent_gpu_s, gpu_s):
            left = max(0.0, budget.budget_gpu_s - budget.spent_gpu_s)
            raise BudgetExceeded(
                f"this needs an estimated {gpu_s:.0f} GPU-seconds; tenant {tenant} has {left:.0f} of its "
                f"{budget.budget_gpu_s:.0f} left (spent {budget.spent_gpu_s:.0f})"
            )
        spent = budget.spent_gpu_s + gpu_s
        if update_if_unchanged(ref, {"spent_gpu_s": spent, "charged_at": utcnow()}, snap.update_time) is None:
            time.sleep(random.uniform(0, 0.02 * 2 ** min(attempt, 5)))  # jitter breaks the convoy
            continue
        return budget.model_copy(update={"spent_gpu_s": spent})
    raise TransientError(f"the budget of tenant {tenant} is contended; retry")


def refund(tenant: str, gpu_s: float) -> None:
    """Gives back a charge whose work was not started (a retry that lost its race)."""
    _tenant_ref(tenant).update({"spent_gpu_s": firestore.Increment(-gpu_s)})
    metrics.count("firestore.writes")
