"""Routes of design requests (/v1/designs): submit a campaign, read its designs table, download
its exports. routes.py registers RULES and HANDLERS; cancel, retry and delete are the batch
routes under /v1/designs too (omtx/api/batch_routes.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import flask
from pydantic import BaseModel, Field, create_model
from werkzeug.routing import Rule

from omtx.api.batch_routes import batch_view
from omtx.api.http import (
    RANGE_PARAM,
    bound,
    flag,
    idempotency_key,
    json_response,
    page_limit,
    parse_body,
    stored_export,
)
from omtx.designs import report, table
from omtx.designs.request import DesignRequest
from omtx.domain import Batch
from omtx.errors import NotFound, QueryError
from omtx.tenancy.keys import Principal
from omtx.usecases import design_results
from omtx.usecases.control import owned_batch
from omtx.usecases.designs import submit_designs

RULES = [
    Rule("/v1/designs", endpoint="create_design", methods=["POST"]),
    Rule("/v1/designs/<batch_id>", endpoint="get_design", methods=["GET"]),
    Rule("/v1/designs/<batch_id>", endpoint="delete_batch", methods=["DELETE"]),
    Rule("/v1/designs/<batch_id>/designs", endpoint="list_designs", methods=["GET"]),
    Rule("/v1/designs/<batch_id>/exports/<name>", endpoint="get_design_export", methods=["GET"]),
    Rule("/v1/designs/<batch_id>/cancel", endpoint="cancel_batch", methods=["POST"]),
    Rule("/v1/designs/<batch_id>/retry", endpoint="retry_batch", methods=["POST"]),
]

_TYPES: dict[str, Any] = {name: (str | None, None) for name in table.COLUMNS}
_TYPES |= {name: (float | None, None) for name in table.NUMERIC}
_TYPES |= {name: (bool | None, None) for name in (*table.FLAGS, "filter_rosetta_ddg", "stand_in")}
DesignRow: type[BaseModel] = create_model(
    "DesignRow",
    __doc__="One designed sequence: its job and run, tags, RF2 scores, each filter's flag (None: not "
    "evaluated), CDR and chain sequences, and the link to its complex structure (PDB).",
    **_TYPES,
)


class DesignPage(BaseModel):
    batch_id: str
    status: str
    results: dict[str, str] = Field(description="URIs of the result files (once the campaign is final)")
    matching: int = Field(description="designs that pass the query's filters")
    designs: list[DesignRow]  # type: ignore[valid-type,unused-ignore]
    next_cursor: str | None


def _design_batch(batch_id: str, caller: Principal) -> Batch:
    batch = owned_batch(batch_id, caller.tenant)
    if batch.kind != "designs":
        raise NotFound(f"design campaign {batch_id} not found (it is a ligand batch: /v1/batches/{batch_id})")
    return batch


def create_design(request: flask.Request, caller: Principal) -> flask.Response:
    key = idempotency_key(request)
    outcome = submit_designs(
        parse_body(request, DesignRequest),
        caller.tenant,
        dry_run=flag(request, "dry_run"),
        idempotency_key=key,
        budgeted=caller.metered,
    )
    if outcome.batch_id is None:
        return json_response(outcome)
    return json_response(outcome, 200 if outcome.replayed else 202, {"Location": outcome.links["self"]})


def get_design(request: flask.Request, caller: Principal, batch_id: str) -> flask.Response:
    view = batch_view(_design_batch(batch_id, caller), deliveries=True)
    view.links |= {
        "designs": f"/v1/designs/{batch_id}/designs",
        **{
            name: f"/v1/designs/{batch_id}/exports/{name}"
            for name, key in design_results.EXPORTS.items()
            if key in view.results
        },
    }
    return json_response(view)


def _query(request: flask.Request) -> dict[str, Any]:
    """order_by (default interaction_pae; '-' for descending), min_<metric>/max_<metric>, and
    true/false for passes_filters and each filter_<name>."""
    ranges, flags = [], {}
    for key, raw in request.args.items():
        if match := RANGE_PARAM.match(key):
            ranges.append(bound(key, raw, match))
        elif key in table.FLAGS:
            flags[key] = flag(request, key)
    order = request.args.get("order_by", "interaction_pae")
    return {"order_by": order.lstrip("-"), "descending": order.startswith("-"), "ranges": ranges, "flags": flags}


def list_designs(request: flask.Request, caller: Principal, batch_id: str) -> flask.Response:
    batch = _design_batch(batch_id, caller)
    query = _query(request)
    cursor = request.args.get("cursor", "0")
    if not cursor.isascii() or not cursor.isdecimal():
        raise QueryError("bad cursor", [{"loc": ["query", "cursor"], "msg": "next_cursor of a page", "input": cursor}])
    try:
        rows = table.select(design_results.design_rows(batch), **query)
    except table.TableQueryError as exc:
        raise QueryError("bad query", [{"loc": ["query"], "msg": str(exc), "input": None}]) from None
    start, limit = int(cursor), page_limit(request)
    page = rows[start : start + limit]
    following = str(start + limit) if start + limit < len(rows) else None
    body = DesignPage(
        batch_id=batch_id,
        status=batch.status.value,
        results=batch.results,
        matching=len(rows),
        designs=page,
        next_cursor=following,
    )
    return json_response(body)


def get_design_export(request: flask.Request, caller: Principal, batch_id: str, name: str) -> flask.Response:
    batch = _design_batch(batch_id, caller)
    written = f"the campaign finishes (status: {batch.status.value})"
    response = stored_export(batch.results, design_results.EXPORTS, name, written)
    if name == "report.html":
        # The report's scripts (3Dmol.js and its start-up) are allowed by their hashes only.
        response.headers["Content-Security-Policy"] = report.REPORT_POLICY
    return response


HANDLERS: dict[str, tuple[Callable[..., flask.Response], Literal["tenant"]]] = {
    "create_design": (create_design, "tenant"),
    "get_design": (get_design, "tenant"),
    "list_designs": (list_designs, "tenant"),
    "get_design_export": (get_design_export, "tenant"),
}
