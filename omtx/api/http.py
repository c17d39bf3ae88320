"""HTTP helpers every route module shares: JSON and error responses, reading a request's body
and query parameters (each bad one a specific 400 naming its parameter), path-id checks, and
streaming a stored file. No route lives here."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any, TypeVar

import flask
from pydantic import BaseModel, ValidationError

from omtx.errors import InputError, NotFound, QueryError
from omtx.gcp import storage
from omtx.gcp.firestore.common import InvalidCursor
from omtx.settings import get_settings

MAX_PAGE = 1000
RANGE_PARAM = re.compile(r"^(min|max)_([A-Za-z_][A-Za-z0-9_]*)$")
CURSOR_PARAM = re.compile(r"[A-Za-z0-9]{1,64}")
# What omtx.ids (and omtx.usecases.campaigns, for campaigns) hands out. Anything else names
# nothing, and some strings (`__x__`, `..`) are not even valid Firestore document ids: refused
# here as not found, before any lookup.
ID_PATTERNS = {
    "batch_id": re.compile(r"b[0-9a-f]{16}"),
    "job_id": re.compile(r"[0-9a-f]{16}"),
    "campaign_id": re.compile(r"c[0-9a-f]{16}"),
}


class TooLarge(Exception):
    """The request body is over the configured limit."""


class BadRequest(Exception):
    """The request is not the JSON object the endpoint takes."""


M = TypeVar("M", bound=BaseModel)


def json_response(
    body: BaseModel | dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> flask.Response:
    data = body.model_dump_json() if isinstance(body, BaseModel) else json.dumps(body, default=str)
    return flask.Response(data, status=status, headers=headers, content_type="application/json")


def error_response(
    status: int, error: str, message: str, details: list[dict[str, Any]] | None = None
) -> flask.Response:
    body: dict[str, Any] = {"error": error, "message": message}
    if details is not None:
        body["detail"] = details
    return json_response(body, status)


def check_ids(args: Mapping[str, Any]) -> None:
    for name, pattern in ID_PATTERNS.items():
        if name in args and not pattern.fullmatch(args[name]):
            raise NotFound(f"{name.replace('_', ' ')} {args[name]!r} not found")


def json_object(request: flask.Request) -> dict[str, Any]:
    limit = get_settings().max_body_bytes
    if (request.content_length or 0) > limit:
        raise TooLarge(f"the body is larger than {limit} bytes; split the batch or drop a CSV into the bucket")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object (Content-Type: application/json)")
    return body


def parse_body(request: flask.Request, model: type[M]) -> M:
    body = json_object(request)
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise InputError.from_validation("the request has invalid input", exc) from None


def flag(request: flask.Request, name: str) -> bool:
    value = request.args.get(name, "false").lower()
    if value not in {"true", "false", "1", "0"}:
        raise QueryError(f"bad {name}", [{"loc": ["query", name], "msg": "true or false", "input": value}])
    return value in {"true", "1"}


def idempotency_key(request: flask.Request) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 1 <= len(key) <= 255:
        raise QueryError(
            "bad Idempotency-Key", [{"loc": ["header", "Idempotency-Key"], "msg": "1–255 characters", "input": key}]
        )
    return key


def page_limit(request: flask.Request, default: int = 100) -> int:
    raw = request.args.get("limit", str(default))
    if not raw.isascii() or not raw.isdecimal() or not 1 <= int(raw) <= MAX_PAGE:
        raise QueryError("bad limit", [{"loc": ["query", "limit"], "msg": f"an integer 1–{MAX_PAGE}", "input": raw}])
    return int(raw)


def cursor(request: flask.Request) -> str | None:
    """Cursors are document ids this API handed out; anything else would name another path."""
    value = request.args.get("cursor")
    if value is not None and not CURSOR_PARAM.fullmatch(value):
        raise InvalidCursor(f"cursor {value!r} was not handed out by this API")
    return value


def choice(request: flask.Request, name: str, allowed: set[str]) -> str | None:
    value = request.args.get(name)
    if value is not None and value not in allowed:
        raise QueryError(f"bad {name}", [{"loc": ["query", name], "msg": f"one of {sorted(allowed)}", "input": value}])
    return value


def list_query(request: flask.Request, statuses: set[str]) -> dict[str, Any]:
    """A list route's query: status (one of `statuses`), limit (20 unless said) and cursor."""
    return {"status": choice(request, "status", statuses), "limit": page_limit(request, 20), "cursor": cursor(request)}


def bound(key: str, raw: str, match: re.Match[str]) -> tuple[str, str, float]:
    """One min_<name>= / max_<name>= filter (`match`: of RANGE_PARAM or a pattern like it), as
    (name, ">=" | "<=", value); anything but a finite number is a 400 naming the parameter."""
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise QueryError(f"bad {key}", [{"loc": ["query", key], "msg": "a finite number", "input": raw}])
    return match.group(2), ">=" if match.group(1) == "min" else "<=", value


def ranges(request: flask.Request, pattern: re.Pattern[str] = RANGE_PARAM) -> list[tuple[str, str, float]]:
    """The min_<name>= / max_<name>= filters of a results query."""
    return [bound(key, raw, match) for key, raw in request.args.items() if (match := pattern.match(key))]


def stream_file(uri: str, filename: str) -> flask.Response:
    try:
        chunks, content_type, size = storage.open_reader(uri)
    except FileNotFoundError:
        raise NotFound(f"{filename} is not in storage") from None
    response = flask.Response(chunks, content_type=content_type or "application/octet-stream")
    if size is not None:
        response.headers["Content-Length"] = str(size)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def stored_export(results: Mapping[str, str], exports: Mapping[str, str], name: str, written: str) -> flask.Response:
    """One of the files a batch or campaign writes when it ends, streamed: `exports` maps the
    names in URLs to keys of its `results`; before then a 404 says when it is `written`."""
    if name not in exports:
        raise NotFound(f"no export named {name!r}; exports: {', '.join(exports)}")
    uri = results.get(exports[name])
    if uri is None:
        raise NotFound(f"{name} is written when {written}")
    return stream_file(uri, name)
