"""Routes of screening campaigns (/v1/campaigns…) and of the batch-done push that advances them.
routes.py registers RULES and HANDLERS; the request/response helpers are omtx.api.http's."""

from __future__ import annotations

import base64
import binascii
import io
import logging
import math
import re
from collections.abc import Callable
from typing import Any, Literal

import flask
import pyarrow.parquet as pq
from google.api_core.datetime_helpers import DatetimeWithNanoseconds
from pydantic import BaseModel, Field
from werkzeug.routing import Rule

from omtx import progress
from omtx.api.http import cursor, flag, json_response, list_query, page_limit, parse_body, ranges, stored_export
from omtx.campaigns.plan import CampaignRequest
from omtx.campaigns.state import Campaign, CampaignStatus
from omtx.domain import Counts, utcnow
from omtx.envelopes import PubsubMessage, parse_payload
from omtx.errors import NotFound, PermanentError
from omtx.events import BatchDone
from omtx.gcp import storage
from omtx.gcp.firestore import batches as batch_store
from omtx.gcp.firestore import campaigns as campaign_store
from omtx.gcp.firestore.common import InvalidCursor
from omtx.predictors.registry import get_model
from omtx.tenancy.keys import Principal
from omtx.usecases import campaigns
from omtx.usecases.submit import estimate

log = logging.getLogger(__name__)

EXPORTS = {
    "campaign_results.csv": "csv",
    "campaign_results.parquet": "parquet",
    "summary.json": "summary_json",
    "report.html": "report_html",
}
# A campaign's columns are <stage>.<metric>: the batch filters' pattern, with dots
COLUMN_RANGE = re.compile(r"^(min|max)_([A-Za-z_][A-Za-z0-9_.]*)$")
RULES = [
    Rule("/v1/campaigns", endpoint="create_campaign", methods=["POST"]),
    Rule("/v1/campaigns", endpoint="list_campaigns", methods=["GET"]),
    Rule("/v1/campaigns/<campaign_id>", endpoint="get_campaign", methods=["GET"]),
    Rule("/v1/campaigns/<campaign_id>/cancel", endpoint="cancel_campaign", methods=["POST"]),
    Rule("/v1/campaigns/<campaign_id>/results", endpoint="campaign_results", methods=["GET"]),
    Rule("/v1/campaigns/<campaign_id>/exports/<name>", endpoint="campaign_export", methods=["GET"]),
    Rule("/pubsub/batch-done", endpoint="batch_done_push", methods=["POST"]),
]


class StageView(BaseModel):
    stage: str
    model: str
    state: str = Field(description="pending | running | a batch's final status")
    batch_id: str | None = None
    selected: int | None = None
    submitted: int | None = None
    refused: int = 0
    done: int = 0
    succeeded: int = 0
    failed: int = 0
    progress: float = 0.0
    eta_s: float | None = Field(None, description="This stage's remaining time (running), or its estimate (pending)")


class CampaignView(BaseModel):
    campaign_id: str
    name: str | None
    status: str
    reason: str | None
    library_size: int
    rejected: int
    stage: int = Field(description="The last stage that started")
    stages: list[StageView]
    eta_s: float | None = Field(None, description="Running stage's remaining time plus the pending stages' estimates")
    created_at: Any
    finished_at: Any
    results: dict[str, str]
    links: dict[str, str]


class CampaignPage(BaseModel):
    campaigns: list[CampaignView]
    next_cursor: str | None


class CampaignRowsPage(BaseModel):
    campaign_id: str
    total: int = Field(description="Rows that pass the filters")
    rows: list[dict[str, Any]] = Field(description="One per library ligand: see docs/api.md#campaigns")
    next_cursor: str | None


def view(campaign: Campaign) -> CampaignView:
    stages, eta, size = [], 0.0, campaign.library_size
    for n, plan in enumerate(campaign.stages):
        state = campaign.stage_state(n)
        if state is None:
            if plan.select and n > 0:
                size = plan.select.size_for(size)
            guess = None if campaign.status.is_final else estimate(get_model(plan.model), size).eta_s
            eta += guess or 0
            stages.append(StageView(stage=plan.name, model=plan.model, state="pending", eta_s=guess))
            continue
        size = state.submitted
        stage = StageView(
            stage=plan.name,
            model=plan.model,
            state=state.status or "running",
            batch_id=state.batch_id,
            selected=state.selected,
            submitted=state.submitted,
            refused=len(state.refused),
        )
        if state.status is not None:
            counts = Counts(total=state.submitted, succeeded=state.succeeded or 0, failed=state.failed or 0)
        else:
            batch = batch_store.get_batch(state.batch_id)
            counts = batch_store.get_counts(state.batch_id, batch.total) if batch else Counts(total=state.submitted)
            timing = progress.estimate(counts, batch.started_at if batch else None, utcnow(), False)
            stage.eta_s = timing.eta_s
            eta += timing.eta_s or 0
        stage.done, stage.succeeded, stage.failed = counts.done, counts.succeeded, counts.failed
        stage.progress = round(counts.done / counts.total, 4) if counts.total else 1.0
        stages.append(stage)
    base = f"/v1/campaigns/{campaign.campaign_id}"
    links = {"self": base, "results": f"{base}/results"}
    links |= {name: f"{base}/exports/{name}" for name, key in EXPORTS.items() if key in campaign.results}
    return CampaignView(
        campaign_id=campaign.campaign_id,
        name=campaign.name,
        status=campaign.status.value,
        reason=campaign.reason,
        library_size=campaign.library_size,
        rejected=campaign.rejected,
        stage=campaign.current,
        stages=stages,
        eta_s=None if campaign.status.is_final else round(eta, 1),
        created_at=campaign.created_at,
        finished_at=campaign.finished_at,
        results=campaign.results,
        links=links,
    )


def create_campaign(request: flask.Request, caller: Principal) -> flask.Response:
    body = parse_body(request, CampaignRequest)
    outcome = campaigns.submit_campaign(body, caller.tenant, dry_run=flag(request, "dry_run"), budgeted=caller.metered)
    if outcome.campaign_id is None:
        return json_response(outcome)
    location = f"/v1/campaigns/{outcome.campaign_id}"
    return json_response(outcome.model_dump() | {"links": {"self": location}}, 202, {"Location": location})


def list_campaigns(request: flask.Request, caller: Principal) -> flask.Response:
    query = list_query(request, {s.value for s in CampaignStatus})
    found, following = campaign_store.list_campaigns(caller.tenant, **query)
    return json_response(CampaignPage(campaigns=[view(c) for c in found], next_cursor=following))


def get_campaign(request: flask.Request, caller: Principal, campaign_id: str) -> flask.Response:
    return json_response(view(campaigns.get_owned(campaign_id, caller.tenant)))


def cancel_campaign(request: flask.Request, caller: Principal, campaign_id: str) -> flask.Response:
    return json_response(view(campaigns.cancel_campaign(campaign_id, caller.tenant)))


def campaign_results(request: flask.Request, caller: Principal, campaign_id: str) -> flask.Response:
    campaign = campaigns.get_owned(campaign_id, caller.tenant)
    if "parquet" not in campaign.results:
        raise NotFound(f"results are written when the campaign ends (status: {campaign.status.value})")
    rows = pq.read_table(io.BytesIO(storage.get_bytes(campaign.results["parquet"]))).to_pylist()
    rows = _filtered(request, rows)
    start = cursor(request) or "0"
    if not start.isdecimal():
        raise InvalidCursor(f"cursor {start!r} was not handed out by this API")
    offset = int(start)
    limit = page_limit(request)
    page = rows[offset : offset + limit]
    following = str(offset + limit) if offset + limit < len(rows) else None
    return json_response(CampaignRowsPage(campaign_id=campaign_id, total=len(rows), rows=page, next_cursor=following))


def campaign_export(request: flask.Request, caller: Principal, campaign_id: str, name: str) -> flask.Response:
    campaign = campaigns.get_owned(campaign_id, caller.tenant)
    return stored_export(campaign.results, EXPORTS, name, f"the campaign ends (status: {campaign.status.value})")


def batch_done_push(request: flask.Request) -> flask.Response:
    """Pub/Sub push of `batch-done`: a campaign stage's end advances its campaign. A transient
    failure answers 500, so Pub/Sub redelivers; a malformed message is acknowledged."""
    envelope: Any = request.get_json(silent=True)
    try:
        pushed = envelope["message"]
        message = PubsubMessage(
            message_id=str(pushed.get("messageId") or pushed.get("message_id") or ""),
            data=base64.b64decode(pushed.get("data") or ""),
            attributes=dict(pushed.get("attributes") or {}),
        )
        event = parse_payload(BatchDone, message)
    except (PermanentError, TypeError, KeyError, AttributeError, binascii.Error) as exc:
        log.error("batch-done push ignored: %s", exc)
        return flask.Response(status=204)
    # How long Pub/Sub took to push it: part of the step between stages (benchmarks/campaign.py)
    lag = _since(pushed.get("publishTime") or pushed.get("publish_time"))
    outcome = campaigns.on_batch_done(event)
    log.info(
        "batch-done %s: %s (pushed %s s after publish)",
        event.batch_id,
        outcome,
        "?" if lag is None else f"{lag:.2f}",
        extra={"batch_id": event.batch_id},
    )
    return flask.Response(status=204)


HANDLERS: dict[str, tuple[Callable[..., flask.Response], Literal["tenant", "pubsub"]]] = {
    "create_campaign": (create_campaign, "tenant"),
    "list_campaigns": (list_campaigns, "tenant"),
    "get_campaign": (get_campaign, "tenant"),
    "cancel_campaign": (cancel_campaign, "tenant"),
    "campaign_results": (campaign_results, "tenant"),
    "campaign_export": (campaign_export, "tenant"),
    "batch_done_push": (batch_done_push, "pubsub"),
}


def _filtered(request: flask.Request, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """min_<column>/max_<column> filters, then order_by (a column, '-' for descending);
    rows without the value sort last."""
    for column, op, value in ranges(request, COLUMN_RANGE):
        rows = [
            row
            for row in rows
            if (got := _number(row.get(column))) is not None and (got >= value if op == ">=" else got <= value)
        ]
    order = request.args.get("order_by")
    if order:
        column = order.lstrip("-")
        present = [row for row in rows if _number(row.get(column)) is not None]
        absent = [row for row in rows if _number(row.get(column)) is None]
        present.sort(key=lambda row: row[column], reverse=order.startswith("-"))
        rows = present + absent
    return rows


def _since(rfc3339: Any) -> float | None:
    """Seconds from an RFC 3339 time (a push's publishTime) to now; None when absent or odd."""
    if not isinstance(rfc3339, str):
        return None
    try:
        then = DatetimeWithNanoseconds.from_rfc3339(rfc3339)
    except ValueError:
        return None
    return (utcnow() - then).total_seconds()


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)
