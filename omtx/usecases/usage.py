"""A tenant's usage: jobs, compute seconds and estimated cost per day and per model over the last
days, and what is left of its GPU budget (`GET /v1/usage`, the console's Usage page).

Compute seconds and cost are the model's cost figures applied to the batch's jobs (the same
estimate a dry run shows and the budget is charged on), not metered time: workers do not record
how long each call ran. A batch counts on the day it was created."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from pydantic import BaseModel, Field

from omtx.domain import Batch, utcnow
from omtx.gcp.firestore import batches as batch_store
from omtx.gcp.firestore import tenants
from omtx.predictors.registry import MODELS
from omtx.usecases.submit import estimate

PAGE = 300
MAX_DAYS = 366


class UsageRow(BaseModel):
    day: date | None = None
    model: str | None = None
    batches: int = 0
    jobs: int = 0
    succeeded: int = 0
    failed: int = 0
    compute_seconds: float = 0.0
    gpu_seconds: float = 0.0
    cost_usd: float = 0.0


class Budget(BaseModel):
    budget_gpu_s: float
    spent_gpu_s: float
    left_gpu_s: float


class Usage(BaseModel):
    tenant: str
    since: datetime
    days: int
    basis: str = Field(description="How compute seconds and cost are derived")
    totals: UsageRow
    by_day: list[UsageRow] = Field(description="Newest day first; days without batches are left out")
    by_model: list[UsageRow]
    by_day_and_model: list[UsageRow]
    budget: Budget | None = Field(None, description="GPU-second budget; none until the tenant's first key")


def usage(tenant: str, days: int) -> Usage:
    since = utcnow() - timedelta(days=days)
    groups: dict[tuple[date | None, str | None], UsageRow] = {}
    for batch in _batches_since(tenant, since):
        day = batch.created_at.date()
        for key in ((None, None), (day, None), (None, batch.model), (day, batch.model)):
            _add(groups.setdefault(key, UsageRow(day=key[0], model=key[1])), batch)
    rows = [_rounded(row) for row in groups.values()]
    # newest day first, models in name order within a day (two stable sorts)
    newest_first = sorted(sorted(rows, key=lambda r: r.model or ""), key=lambda r: r.day or date.min, reverse=True)
    budget = tenants.get_budget(tenant)
    return Usage(
        tenant=tenant,
        since=since,
        days=days,
        basis="each batch's jobs at its model's cost figures (seconds per ligand, start-up per call, $/s), "
        "as a dry run estimates them; counted on the day the batch was created",
        totals=groups.get((None, None), UsageRow()),
        by_day=[r for r in newest_first if r.day and not r.model],
        by_model=sorted((r for r in rows if r.model and not r.day), key=lambda r: r.model or ""),
        by_day_and_model=[r for r in newest_first if r.day and r.model],
        budget=None
        if budget is None
        else Budget(
            budget_gpu_s=budget.budget_gpu_s,
            spent_gpu_s=budget.spent_gpu_s,
            left_gpu_s=max(0.0, budget.budget_gpu_s - budget.spent_gpu_s),
        ),
    )


def _rounded(row: UsageRow) -> UsageRow:
    return row.model_copy(
        update={
            "compute_seconds": round(row.compute_seconds, 1),
            "gpu_seconds": round(row.gpu_seconds, 1),
            "cost_usd": round(row.cost_usd, 4),
        }
    )


def _batches_since(tenant: str, since: datetime) -> list[Batch]:
    """Newest first, page by page, until a batch older than `since`."""
    found: list[Batch] = []
    cursor: str | None = None
    while True:
        page, cursor = batch_store.list_batches(tenant, limit=PAGE, cursor=cursor)
        for batch in page:
            if batch.created_at < since:
                return found
            found.append(batch)
        if cursor is None:
            return found


def _add(row: UsageRow, batch: Batch) -> None:
    row.batches += 1
    row.jobs += batch.total
    row.succeeded += batch.succeeded or 0
    row.failed += batch.failed or 0
    spec = MODELS.get(batch.model)
    if spec is not None:
        figures = estimate(spec, batch.total)
        row.compute_seconds += figures.compute_seconds
        row.gpu_seconds += figures.gpu_seconds
        row.cost_usd += figures.cost_usd
