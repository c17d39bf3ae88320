"""Routes of the HTTPS API: parse the request, call one use case, map the outcome to HTTP.

Every route declares who may call it: anyone (health, the OpenAPI document), a tenant (the /v1
routes: the API key's tenant, whose batches alone it sees), an operator (admin tier), or one
Google identity (the push routes, when push_auth=oidc). The router checks before the handler.

This module holds the URL map, the route table and the mapping of errors to HTTP statuses; the
handlers live beside it (batch_routes, result_routes, designs, campaign_routes, console) and share
the request/response helpers of omtx.api.http."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Literal, NamedTuple

import flask
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule

from omtx.api import access, campaign_routes, console, designs, openapi
from omtx.api.batch_routes import (
    cancel_batch,
    create_batch,
    create_prediction,
    delete_batch,
    get_batch,
    list_batches,
    retry_batch,
)
from omtx.api.http import BadRequest, TooLarge, check_ids, error_response, json_response, parse_body
from omtx.api.result_routes import get_export, get_facets, get_job, get_job_file, get_results, get_results_file
from omtx.api.schemas import ModelList, ModelView
from omtx.errors import Conflict, InputError, NotFound, QueryError, TransientError
from omtx.gcp.firestore.common import InvalidCursor
from omtx.predictors.registry import MODELS
from omtx.report.html import VIEWER_SCRIPT_SOURCE
from omtx.settings import get_settings
from omtx.structures import StructureUpload
from omtx.tenancy.errors import BudgetExceeded, Forbidden, RateLimited, Unauthenticated
from omtx.tenancy.keys import Principal
from omtx.usecases import drops, operator, structures
from omtx.usecases.reconcile import reconcile_once
from omtx.usecases.submit import TooManyLigands

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
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; script-src 'self' {VIEWER_SCRIPT_SOURCE}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


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
        check_ids(args)
        return route.handler(request, caller, **args)
    except Unauthenticated as exc:
        response = error_response(401, "unauthenticated", str(exc))
        response.headers["WWW-Authenticate"] = 'Bearer realm="omtx"'
        return response
    except Forbidden as exc:
        return error_response(403, "forbidden", str(exc))
    except RateLimited as exc:
        response = error_response(429, "rate_limited", str(exc))
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    except BudgetExceeded as exc:
        return error_response(402, "budget_exceeded", str(exc))
    except TooLarge as exc:
        return error_response(413, "too_large", str(exc))
    except BadRequest as exc:
        return error_response(400, "bad_request", str(exc))
    except HTTPException as exc:
        return error_response(exc.code or 500, (exc.name or "error").lower().replace(" ", "_"), exc.description or "")
    except TooManyLigands as exc:
        return error_response(413, "too_large", str(exc), exc.details)
    except InputError as exc:
        return error_response(
            422 if not isinstance(exc, QueryError) else 400, "validation_failed", str(exc), exc.details
        )
    except NotFound as exc:
        return error_response(404, "not_found", str(exc))
    except InvalidCursor as exc:
        return error_response(400, "invalid_cursor", str(exc))
    except TransientError as exc:
        log.warning("transient failure: %s", exc)
        response = error_response(503, "unavailable", "a dependency is briefly unavailable; retry")
        response.headers["Retry-After"] = "2"
        return response
    except Conflict as exc:
        response = error_response(409, "conflict", str(exc))
        if exc.retry_after_s:
            response.headers["Retry-After"] = str(exc.retry_after_s)
        return response


def health(request: flask.Request) -> flask.Response:
    return json_response({"status": "ok"})


def openapi_document(request: flask.Request) -> flask.Response:
    return json_response(openapi.document(get_settings().auth))


def upload_structure(request: flask.Request, caller: Principal) -> flask.Response:
    return json_response(structures.store_text(caller.tenant, parse_body(request, StructureUpload).structure), 201)


def list_models(request: flask.Request, caller: Principal) -> flask.Response:
    return json_response(ModelList(models=[ModelView.of(spec) for spec in MODELS.values()]))


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


def operator_status(request: flask.Request, caller: Principal) -> flask.Response:
    return json_response(operator.status())


def reconcile(request: flask.Request) -> flask.Response:
    """Cloud Scheduler's target (the local stack's scheduler loop calls it too)."""
    return json_response(reconcile_once())


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

# Campaign routes (/v1/campaigns, and the batch-done push that advances them): campaign_routes.py
for _rule in campaign_routes.RULES:
    URLS.add(_rule)
ROUTES |= {name: Route(handler, who) for name, (handler, who) in campaign_routes.HANDLERS.items()}
