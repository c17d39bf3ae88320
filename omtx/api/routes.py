"""Routes of the HTTPS API: parse the request, call one use case, map the outcome to HTTP.

Every route declares who may call it: anyone (health, the OpenAPI document), a tenant (the /v1
routes: the API key's tenant, whose batches alone it sees), an operator (admin tier), or one
Google identity (the push routes, when push_auth=oidc). The router checks before the handler."""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, Literal, NamedTuple, TypeVar

import flask
import orjson
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule

from omtx import depiction, progress, spreadsheet
from omtx.api import access, console, designs, openapi
from omtx.api.schemas import (
    BatchAccepted,
    BatchPage,
    BatchView,
    CancelView,
    JobView,
    ModelList,
    ModelView,
    RetryView,
    WebhookDeliveryView,
)
from omtx.domain import Batch, BatchRequest, BatchStatus, Counts, Job, PredictionRequest, utcnow
from omtx.drops import ParsedDrop
from omtx.errors import Conflict, InputError, NotFound, QueryError, TransientError
from omtx.gcp import storage
from omtx.gcp.firestore import batches as batch_store
from omtx.gcp.firestore import jobs as job_store
from omtx.gcp.firestore import webhooks as webhook_store
from omtx.gcp.firestore.common import InvalidCursor
from omtx.libraries import Library
from omtx.predictors.registry import MODELS
from omtx.report.html import VIEWER_SCRIPT_SOURCE
from omtx.results import rows as result_rows
from omtx.results import service as results_views
from omtx.settings import get_settings
from omtx.structures import StructureUpload
from omtx.tenancy.errors import BudgetExceeded, Forbidden, RateLimited, Unauthenticated
from omtx.tenancy.keys import Principal
from omtx.usecases import control, drops, libraries, operator, structures
from omtx.usecases.reconcile import reconcile_once
from omtx.usecases.submit import TooManyLigands, read_request, submit_batch
from omtx.webhooks import keys as webhook_keys

log = logging.getLogger(__name__)

URLS = Map(
    [
        Rule("/healthz", endpoint="health", methods=["GET"]),
        Rule("/v1/openapi.json", endpoint="openapi_document", methods=["GET"]),
        Rule("/v1/batches", endpoint="create_batch", methods=["POST"]),
        Rule("/v1/predictions", endpoint="create_prediction", methods=["POST"]),
        Rule("/v1/structures", endpoint="upload_structure", methods=["POST"]),
        Rule("/v1/models", endpoint="list_models", methods=["GET"]),
        Rule("/pubsub/bucket-events", endpoint="bucket_event", methods=["POST"]),
        Rule("/internal/reconcile", endpoint="reconcile", methods=["POST"]),
        Rule("/v1/batches", endpoint="list_batches", methods=["GET"]),
        Rule("/v1/batches/<batch_id>", endpoint="get_batch", methods=["GET"]),
        Rule("/v1/batches/<batch_id>", endpoint="delete_batch", methods=["DELETE"]),
        Rule("/v1/batches/<batch_id>/cancel", endpoint="cancel_batch", methods=["POST"]),
        Rule("/v1/batches/<batch_id>/retry", endpoint="retry_batch", methods=["POST"]),
        Rule("/v1/admin/status", endpoint="operator_status", methods=["GET"]),
        Rule("/v1/batches/<batch_id>/results", endpoint="get_results", methods=["GET"]),
        Rule("/v1/batches/<batch_id>/results.<any(csv, parquet):fmt>", endpoint="get_results_file", methods=["GET"]),
        Rule("/v1/batches/<batch_id>/facets", endpoint="get_facets", methods=["GET"]),
        Rule("/v1/batches/<batch_id>/exports/<name>", endpoint="get_export", methods=["GET"]),
        Rule("/v1/batches/<batch_id>/jobs/<job_id>", endpoint="get_job", methods=["GET"]),
        Rule("/v1/batches/<batch_id>/jobs/<job_id>/files/<name>", endpoint="get_job_file", methods=["GET"]),
        *console.RULES,
    ]
)
# export name in the URL → key in the batch's results manifest
EXPORTS = {
    "aggregated.json": "aggregated_json",
    "summary.json": "summary_json",
    "job_index.json": "job_index_json",
    "batch_results.csv": "csv",
    "batch_results.parquet": "parquet",
    "report.html": "report_html",
}
MAX_PAGE = 1000
PARQUET_MEDIA = "application/vnd.apache.parquet"
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; script-src 'self' {VIEWER_SCRIPT_SOURCE}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
RANGE_PARAM = re.compile(r"^(min|max)_([A-Za-z_][A-Za-z0-9_]*)$")
CURSOR_PARAM = re.compile(r"[A-Za-z0-9]{1,64}")
# What omtx.ids hands out. Anything else names nothing, and some strings (`__x__`, `..`) are not
# even valid Firestore document ids: refused here as not found, before any lookup.
ID_PATTERNS = {"batch_id": re.compile(r"b[0-9a-f]{16}"), "job_id": re.compile(r"[0-9a-f]{16}")}


class TooLarge(Exception):
    """The request body is over the configured limit."""


class BadRequest(Exception):
    """The request is not the JSON object the endpoint takes."""


M = TypeVar("M", bound=BaseModel)


def _json(body: BaseModel | dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> flask.Response:
    data = body.model_dump_json() if isinstance(body, BaseModel) else json.dumps(body, default=str)
    return flask.Response(data, status=status, headers=headers, content_type="application/json")


def _error(status: int, error: str, message: str, details: list[dict[str, Any]] | None = None) -> flask.Response:
    body: dict[str, Any] = {"error": error, "message": message}
    if details is not None:
        body["detail"] = details
    return _json(body, status)


def handle(request: flask.Request) -> flask.Response:
    response = _routed(request)
    # Every page this origin serves (the report now, the console later) runs only its own
    # scripts: user data can never become script, and no outside origin is reached.
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


def _routed(request: flask.Request) -> flask.Response:
    try:
        endpoint, args = URLS.bind_to_environ(request.environ).match()
        route = ROUTES[endpoint]
        if route.access == "anyone":
            return route.handler(request, **args)
        if route.access in ("pubsub", "scheduler"):
            access.verify_push(request.headers, route.access)
            return route.handler(request, **args)
        caller = access.authenticate(request.headers, request.method)
        if route.access == "operator":
            access.require_operator(caller)
        _check_ids(args)
        return route.handler(request, caller, **args)
    except Unauthenticated as exc:
        response = _error(401, "unauthenticated", str(exc))
        response.headers["WWW-Authenticate"] = 'Bearer realm="omtx"'
        return response
    except Forbidden as exc:
        return _error(403, "forbidden", str(exc))
    except RateLimited as exc:
        response = _error(429, "rate_limited", str(exc))
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    except BudgetExceeded as exc:
        return _error(402, "budget_exceeded", str(exc))
    except TooLarge as exc:
        return _error(413, "too_large", str(exc))
    except BadRequest as exc:
        return _error(400, "bad_request", str(exc))
    except HTTPException as exc:
        return _error(exc.code or 500, (exc.name or "error").lower().replace(" ", "_"), exc.description or "")
    except TooManyLigands as exc:
        return _error(413, "too_large", str(exc), exc.details)
    except InputError as exc:
        return _error(422 if not isinstance(exc, QueryError) else 400, "validation_failed", str(exc), exc.details)
    except NotFound as exc:
        return _error(404, "not_found", str(exc))
    except InvalidCursor as exc:
        return _error(400, "invalid_cursor", str(exc))
    except TransientError as exc:
        log.warning("transient failure: %s", exc)
        response = _error(503, "unavailable", "a dependency is briefly unavailable; retry")
        response.headers["Retry-After"] = "2"
        return response
    except Conflict as exc:
        response = _error(409, "conflict", str(exc))
        if exc.retry_after_s:
            response.headers["Retry-After"] = str(exc.retry_after_s)
        return response


def _check_ids(args: Mapping[str, Any]) -> None:
    for name, pattern in ID_PATTERNS.items():
        if name in args and not pattern.fullmatch(args[name]):
            raise NotFound(f"{name.replace('_', ' ')} {args[name]!r} not found")


def health(request: flask.Request) -> flask.Response:
    return _json({"status": "ok"})


def openapi_document(request: flask.Request) -> flask.Response:
    return _json(openapi.document(get_settings().auth))


def _object(request: flask.Request) -> dict[str, Any]:
    limit = get_settings().max_body_bytes
    if (request.content_length or 0) > limit:
        raise TooLarge(f"the body is larger than {limit} bytes; split the batch or drop a CSV into the bucket")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object (Content-Type: application/json)")
    return body


def _body(request: flask.Request, model: type[M]) -> M:
    body = _object(request)
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise InputError.from_validation("the request has invalid input", exc) from None


def _flag(request: flask.Request, name: str) -> bool:
    value = request.args.get(name, "false").lower()
    if value not in {"true", "false", "1", "0"}:
        raise QueryError(f"bad {name}", [{"loc": ["query", name], "msg": "true or false", "input": value}])
    return value in {"true", "1"}


def _submit(
    request: flask.Request, caller: Principal, batch_request: BatchRequest, library: Library | None = None
) -> flask.Response:
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 1 <= len(key) <= 255:
        raise QueryError(
            "bad Idempotency-Key", [{"loc": ["header", "Idempotency-Key"], "msg": "1–255 characters", "input": key}]
        )
    submit = submit_batch if library is None else partial(libraries.submit_library, library=library)
    outcome = submit(
        batch_request,
        caller.tenant,
        dry_run=_flag(request, "dry_run"),
        idempotency_key=key,
        budgeted=caller.metered,
    )
    if outcome.batch_id is None:
        return _json(BatchAccepted(**dict(outcome), links={}))
    location = f"/v1/batches/{outcome.batch_id}"
    # Derived from the batch id on each answer, so it is never stored (idempotent replays included)
    secret = webhook_keys.secret_for(outcome.batch_id) if batch_request.webhook_url else None
    accepted = BatchAccepted(
        **dict(outcome), links={"self": location, "results": f"{location}/results"}, webhook_secret=secret
    )
    return _json(accepted, 200 if outcome.replayed else 202, {"Location": location})


def create_batch(request: flask.Request, caller: Principal) -> flask.Response:
    if request.mimetype == "multipart/form-data":
        parsed = _library_upload(request)
        return _submit(request, caller, parsed.request, parsed.library)
    # Not _body: a bad ligand row is skippable, and named beside every other one
    return _submit(request, caller, read_request(_object(request)))


def _library_upload(request: flask.Request) -> ParsedDrop:
    """A library file (`library` part: CSV, SMILES or SDF, by its file name) and what the batch
    is of (`request` part: JSON, as a form field or a file). The file part is spooled to disk by
    the form parser and streamed from there."""
    limit = get_settings().max_body_bytes
    if (request.content_length or 0) > limit:
        raise TooLarge(f"the upload is larger than {limit} bytes; drop the file into the bucket instead")
    request.max_content_length = limit  # also when no Content-Length was sent
    request.max_form_memory_size = limit  # a `request` part may carry a receptor's PDB text
    library = request.files.get("library")
    if library is None or not library.filename:
        raise BadRequest("a multipart upload carries the library as a file part named 'library' (with its file name)")
    part = request.files.get("request")
    raw = part.read() if part is not None else request.form.get("request", type=str)
    return libraries.read_upload(library.stream, library.filename, raw.encode() if isinstance(raw, str) else raw)


def create_prediction(request: flask.Request, caller: Principal) -> flask.Response:
    return _submit(request, caller, _body(request, PredictionRequest).as_batch())


def upload_structure(request: flask.Request, caller: Principal) -> flask.Response:
    return _json(structures.store_text(caller.tenant, _body(request, StructureUpload).structure), 201)


def list_models(request: flask.Request, caller: Principal) -> flask.Response:
    return _json(ModelList(models=[ModelView.of(spec) for spec in MODELS.values()]))


def bucket_event(request: flask.Request) -> flask.Response:
    """Pub/Sub push of a bucket notification: a library dropped under drops/ becomes a batch."""
    envelope = request.get_json(silent=True)
    try:
        notification = drops.Notification.from_push(envelope)
    except ValueError as exc:
        log.error("bucket event ignored: %s", exc)
        return flask.Response(status=204)  # acknowledged: a malformed push can never succeed
    result = drops.ingest(notification)
    log.info("drop %s: %s", notification.object_id, result, extra={"drop": notification.object_id})
    return flask.Response(status=204)


def _limit(request: flask.Request, default: int = 100) -> int:
    raw = request.args.get("limit", str(default))
    if not raw.isascii() or not raw.isdecimal() or not 1 <= int(raw) <= MAX_PAGE:
        raise QueryError("bad limit", [{"loc": ["query", "limit"], "msg": f"an integer 1–{MAX_PAGE}", "input": raw}])
    return int(raw)


def _cursor(request: flask.Request) -> str | None:
    """Cursors are document ids this API handed out; anything else would name another path."""
    value = request.args.get("cursor")
    if value is not None and not CURSOR_PARAM.fullmatch(value):
        raise InvalidCursor(f"cursor {value!r} was not handed out by this API")
    return value


def _choice(request: flask.Request, name: str, allowed: set[str]) -> str | None:
    value = request.args.get(name)
    if value is not None and value not in allowed:
        raise QueryError(f"bad {name}", [{"loc": ["query", name], "msg": f"one of {sorted(allowed)}", "input": value}])
    return value


def _batch_or_404(batch_id: str, caller: Principal) -> Batch:
    batch = batch_store.get_batch(batch_id)
    if batch is None or batch.tenant != caller.tenant:
        raise NotFound(f"batch {batch_id} not found")
    return batch


def _batch_view(batch: Batch, *, deliveries: bool = False) -> BatchView:
    if batch.status.is_final and batch.succeeded is not None and batch.failed is not None:
        counts = Counts(total=batch.total, succeeded=batch.succeeded, failed=batch.failed)  # frozen at the end
    else:
        counts = batch_store.get_counts(batch.batch_id, batch.total)
    # A final batch's throughput is frozen at its end, not divided by the time until now.
    end = (batch.finished_at or batch.cancelled_at) if batch.status.is_final else None
    estimate = progress.estimate(counts, batch.started_at, end or utcnow(), batch.status.is_final)
    links = {"self": f"/v1/batches/{batch.batch_id}", "results": f"/v1/batches/{batch.batch_id}/results"}
    links |= {
        name: f"/v1/batches/{batch.batch_id}/exports/{name}" for name, key in EXPORTS.items() if key in batch.results
    }
    # Built from the already-validated models, without a second validation pass.
    fields = dict(batch) | dict(estimate)
    fields |= {"succeeded": counts.succeeded, "failed": counts.failed, "done": counts.done, "links": links}
    fields["trace_id"] = batch.traceparent.split("-")[1] if batch.traceparent else None
    fields["webhooks"] = (
        [
            WebhookDeliveryView.model_validate(d.model_dump(exclude={"body"}))
            for d in webhook_store.list_deliveries(batch.batch_id)
        ]
        if deliveries and batch.webhook_url
        else []
    )
    return BatchView.model_construct(**fields)


def list_batches(request: flask.Request, caller: Principal) -> flask.Response:
    status = _choice(request, "status", {s.value for s in BatchStatus})
    batches, cursor = batch_store.list_batches(
        caller.tenant, limit=_limit(request, 20), status=status, cursor=_cursor(request)
    )
    return _json(BatchPage(batches=[_batch_view(b) for b in batches], next_cursor=cursor))


def get_batch(request: flask.Request, caller: Principal, batch_id: str) -> flask.Response:
    return _json(_batch_view(_batch_or_404(batch_id, caller), deliveries=True))


def _links(batch_id: str) -> dict[str, str]:
    return {"self": f"/v1/batches/{batch_id}", "results": f"/v1/batches/{batch_id}/results"}


def cancel_batch(request: flask.Request, caller: Principal, batch_id: str) -> flask.Response:
    outcome = control.cancel_batch(batch_id, caller.tenant)
    return _json(CancelView(**dict(outcome), links=_links(batch_id)))


def retry_batch(request: flask.Request, caller: Principal, batch_id: str) -> flask.Response:
    outcome = control.retry_failed(batch_id, caller.tenant, budgeted=caller.metered)
    location = f"/v1/batches/{batch_id}"
    return _json(RetryView(**dict(outcome), links=_links(batch_id)), 202, {"Location": location})


def delete_batch(request: flask.Request, caller: Principal, batch_id: str) -> flask.Response:
    control.delete_batch(batch_id, caller.tenant)
    results_views.forget(batch_id)
    return flask.Response(status=204)


def operator_status(request: flask.Request, caller: Principal) -> flask.Response:
    return _json(operator.status())


def _job_view(job: Job) -> JobView:
    links = result_rows.links(job.batch_id, job.job_id, result_rows.file_names(job.files, job.result_uri))
    # What happened, not what the store keeps for the next attempt: who answered (the cache, or
    # the executor), and the attempts of every run (a retry restarts the stored count).
    said = {"executor": job.ran_on, "attempts": job.all_attempts, "run_attempts": job.attempts}
    return JobView.model_construct(**(dict(job) | said), links=links)


def _ranges(request: flask.Request, pattern: re.Pattern[str] = RANGE_PARAM) -> list[tuple[str, str, float]]:
    """The min_<name>= / max_<name>= filters of a results query, as (name, ">=" | "<=", value)."""
    ranges = []
    for key, raw in request.args.items():
        match = pattern.match(key)
        if not match:
            continue
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise QueryError(f"bad {key}", [{"loc": ["query", key], "msg": "a finite number", "input": raw}])
        ranges.append((match.group(2), ">=" if match.group(1) == "min" else "<=", value))
    return ranges


RESULTS_SOURCE = "OMTX-Results-Source"  # table or firestore: which source answered (same body either way)


def _rows_json(body: dict[str, Any], source: str) -> flask.Response:
    # orjson: a page of rows is most of a results request's own time with the json module.
    return flask.Response(orjson.dumps(body), content_type="application/json", headers={RESULTS_SOURCE: source})


def get_results(request: flask.Request, caller: Principal, batch_id: str) -> flask.Response:
    return _rows_json(*results_views.page(_batch_or_404(batch_id, caller), request.args.to_dict(flat=False)))


def get_results_file(request: flask.Request, caller: Principal, batch_id: str, fmt: str) -> flask.Response:
    """The rows of a results view as CSV or Parquet, streamed (same parameters, no page)."""
    batch = _batch_or_404(batch_id, caller)
    stream, source = results_views.export(batch, request.args.to_dict(flat=False), "csv" if fmt == "csv" else "parquet")
    media = spreadsheet.MEDIA_TYPE if fmt == "csv" else PARQUET_MEDIA
    response = flask.Response(stream, content_type=media, headers={RESULTS_SOURCE: source})
    response.headers["Content-Disposition"] = f'attachment; filename="{batch_id}-results.{fmt}"'
    return response


def get_facets(request: flask.Request, caller: Principal, batch_id: str) -> flask.Response:
    return _rows_json(*results_views.facets(_batch_or_404(batch_id, caller), request.args.to_dict(flat=False)))


def get_job(request: flask.Request, caller: Principal, batch_id: str, job_id: str) -> flask.Response:
    _batch_or_404(batch_id, caller)
    job = job_store.get_job(batch_id, job_id)
    if job is None:
        raise NotFound(f"job {job_id} not found in batch {batch_id}")
    return _json(_job_view(job))


def _stream(uri: str, filename: str) -> flask.Response:
    try:
        chunks, content_type, size = storage.open_reader(uri)
    except FileNotFoundError:
        raise NotFound(f"{filename} is not in storage") from None
    response = flask.Response(chunks, content_type=content_type or "application/octet-stream")
    if size is not None:
        response.headers["Content-Length"] = str(size)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def get_export(request: flask.Request, caller: Principal, batch_id: str, name: str) -> flask.Response:
    batch = _batch_or_404(batch_id, caller)
    if batch.kind == "designs":  # a campaign's own files and report policy (omtx/api/designs.py)
        return designs.get_design_export(request, caller, batch_id, name)
    if name not in EXPORTS:
        raise NotFound(f"no export named {name!r}; exports: {', '.join(EXPORTS)}")
    uri = batch.results.get(EXPORTS[name])
    if uri is None:
        raise NotFound(f"{name} is written when the batch finishes (status: {batch.status.value})")
    return _stream(uri, name)


def get_job_file(request: flask.Request, caller: Principal, batch_id: str, job_id: str, name: str) -> flask.Response:
    _batch_or_404(batch_id, caller)
    job = job_store.get_job(batch_id, job_id)
    if job is None:
        raise NotFound(f"job {job_id} not found in batch {batch_id}")
    uri = job.result_uri if name == "results.json" else job.files.get(name)
    if uri is None:
        raise NotFound(f"job {job_id} has no file {name!r}")
    response = _stream(uri, name)
    if name == depiction.FILE_NAME:
        # A drawing of the job's canonical SMILES never changes: the console's results table shows
        # one per row, and each page turn would otherwise ask for every one of them again.
        response.headers["Cache-Control"] = "private, max-age=86400"
    return response


def reconcile(request: flask.Request) -> flask.Response:
    """Cloud Scheduler's target (the local stack's scheduler loop calls it too)."""
    return _json(reconcile_once())


class Route(NamedTuple):
    handler: Callable[..., flask.Response]  # tenant and operator routes also take the caller
    access: Literal["anyone", "tenant", "operator", "pubsub", "scheduler"]


ROUTES: dict[str, Route] = {
    "health": Route(health, "anyone"),
    "openapi_document": Route(openapi_document, "anyone"),
    "create_batch": Route(create_batch, "tenant"),
    "create_prediction": Route(create_prediction, "tenant"),
    "upload_structure": Route(upload_structure, "tenant"),
    "list_models": Route(list_models, "tenant"),
    "bucket_event": Route(bucket_event, "pubsub"),
    "reconcile": Route(reconcile, "scheduler"),
    "list_batches": Route(list_batches, "tenant"),
    "get_batch": Route(get_batch, "tenant"),
    "delete_batch": Route(delete_batch, "tenant"),
    "cancel_batch": Route(cancel_batch, "tenant"),
    "retry_batch": Route(retry_batch, "tenant"),
    "operator_status": Route(operator_status, "operator"),
    "get_results": Route(get_results, "tenant"),
    "get_results_file": Route(get_results_file, "tenant"),
    "get_facets": Route(get_facets, "tenant"),
    "get_export": Route(get_export, "tenant"),
    "get_job": Route(get_job, "tenant"),
    "get_job_file": Route(get_job_file, "tenant"),
}

# Design requests (/v1/designs) live in omtx/api/designs.py.
for _rule in designs.RULES:
    URLS.add(_rule)
ROUTES |= {name: Route(handler, who) for name, (handler, who) in designs.HANDLERS.items()}
# The web console's pages, session and the API data it added (omtx/api/console.py)
ROUTES |= {endpoint: Route(handler, who) for endpoint, (handler, who) in console.HANDLERS.items()}

# Campaign routes live in their own module; it adds its rules and handlers here.
from omtx.api import campaign_routes  # noqa: E402 - needs the helpers above

campaign_routes.register(URLS, ROUTES, Route)
