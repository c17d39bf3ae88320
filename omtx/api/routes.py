"""Routes of the HTTPS API: parse the request, call one use case, map the outcome to HTTP."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import flask
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule

from omtx import progress
from omtx.domain import BatchRequest, utcnow
from omtx.errors import InputError, NotFound
from omtx.gcp import firestore_store as store
from omtx.settings import get_settings
from omtx.usecases.submit import TooManyLigands, submit_batch

log = logging.getLogger(__name__)

URLS = Map(
    [
        Rule("/healthz", endpoint="health", methods=["GET"]),
        Rule("/v1/batches", endpoint="create_batch", methods=["POST"]),
        Rule("/v1/batches/<batch_id>", endpoint="get_batch", methods=["GET"]),
        Rule("/v1/batches/<batch_id>/results", endpoint="get_results", methods=["GET"]),
    ]
)


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> flask.Response:
    response = flask.jsonify(body)
    response.status_code = status
    response.headers.update(headers or {})
    return response


def _error(status: int, error: str, message: str, details: list[dict[str, Any]] | None = None) -> flask.Response:
    body: dict[str, Any] = {"error": error, "message": message}
    if details is not None:
        body["detail"] = details
    return _json(body, status)


def handle(request: flask.Request) -> flask.Response:
    try:
        endpoint, args = URLS.bind_to_environ(request.environ).match()
        return ROUTES[endpoint](request, **args)
    except HTTPException as exc:
        return _error(exc.code or 500, exc.name.lower().replace(" ", "_"), exc.description or exc.name)
    except TooManyLigands as exc:
        return _error(413, "too_large", str(exc), exc.details)
    except InputError as exc:
        return _error(422, "validation_failed", str(exc), exc.details)
    except NotFound as exc:
        return _error(404, "not_found", str(exc))


def health(request: flask.Request) -> flask.Response:
    return _json({"status": "ok"})


def create_batch(request: flask.Request) -> flask.Response:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _error(400, "bad_request", "the body must be a JSON object (Content-Type: application/json)")
    try:
        batch_request = BatchRequest.model_validate(body)
    except ValidationError as exc:
        details = [{"loc": list(e["loc"]), "msg": e["msg"], "input": e.get("input")} for e in exc.errors()]
        return _error(422, "validation_failed", "the batch has invalid input", details)
    outcome = submit_batch(batch_request, tenant=get_settings().tenant)
    location = f"/v1/batches/{outcome.batch_id}"
    return _json(outcome.model_dump(mode="json") | {"links": {"self": location}}, 202, {"Location": location})


def _batch_or_404(batch_id: str) -> Any:
    batch = store.get_batch(batch_id)
    if batch is None or batch.tenant != get_settings().tenant:
        raise NotFound(f"batch {batch_id} not found")
    return batch


def get_batch(request: flask.Request, batch_id: str) -> flask.Response:
    batch = _batch_or_404(batch_id)
    counts = store.get_counts(batch_id, batch.total)
    estimate = progress.estimate(counts, batch.started_at, utcnow(), batch.status.is_final)
    body = (
        batch.model_dump(mode="json")
        | estimate.model_dump()
        | {
            "succeeded": counts.succeeded,
            "failed": counts.failed,
            "done": counts.done,
            "links": {"self": f"/v1/batches/{batch_id}", "results": f"/v1/batches/{batch_id}/results"},
        }
    )
    return _json(body)


def get_results(request: flask.Request, batch_id: str) -> flask.Response:
    batch = _batch_or_404(batch_id)
    try:
        limit = int(request.args.get("limit", "1000"))
    except ValueError:
        return _error(
            422,
            "validation_failed",
            "limit must be an integer",
            [{"loc": ["query", "limit"], "msg": "not an integer", "input": request.args["limit"]}],
        )
    jobs = [
        j.model_dump(
            mode="json",
            include={
                "index",
                "job_id",
                "ligand_name",
                "smiles",
                "canonical_smiles",
                "status",
                "metrics",
                "error",
                "result_uri",
            },
        )
        for j in store.iter_jobs(batch_id, limit=max(1, min(limit, 10_000)))
    ]
    return _json({"batch_id": batch_id, "status": batch.status.value, "results": batch.results, "jobs": jobs})


ROUTES: dict[str, Callable[..., flask.Response]] = {
    "health": health,
    "create_batch": create_batch,
    "get_batch": get_batch,
    "get_results": get_results,
}
