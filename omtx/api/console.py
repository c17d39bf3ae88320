"""The web console's routes: its pages and files under /ui/, the session cookie, and the API
data only the console needed first (`GET /v1/usage`, the structures zip).

The console is a client of the public /v1 API: its pages are one static shell and ES modules
that call /v1/... from the browser, so every number on a page is one the API returns. The router
in routes.py registers RULES and HANDLERS and checks access before a handler runs."""

from __future__ import annotations

import hashlib
import mimetypes
import re
from collections.abc import Callable
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

import flask
from pydantic import BaseModel, Field
from werkzeug.routing import Rule

from omtx.api import access
from omtx.api.http import json_response
from omtx.errors import InputError, NotFound
from omtx.gcp.firestore import batches as batch_store
from omtx.settings import get_settings
from omtx.tenancy.keys import Principal
from omtx.usecases import structures_zip
from omtx.usecases.usage import MAX_DAYS, Usage, usage

# Pages are one shell: the module it loads reads the path and draws the page, so each page is a
# plain URL (bookmarkable, back button, a title of its own) with no server-side templating.
PAGES = ["/ui/", "/ui/new", "/ui/usage", "/ui/batches/<batch_id>", "/ui/batches/<batch_id>/jobs/<job_id>"]
ASSET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
ASSET_FOLDERS = {"static": "static", "vendor": "vendor"}
SESSION_MAX_AGE_S = 8 * 3600

RULES = [
    Rule("/", endpoint="ui_root", methods=["GET"]),
    Rule("/ui", endpoint="ui_root", methods=["GET"]),
    *(Rule(path, endpoint="ui_page", methods=["GET"]) for path in PAGES),
    Rule("/ui/<folder>/<name>", endpoint="ui_asset", methods=["GET"]),
    Rule("/ui/session", endpoint="ui_sign_in", methods=["POST"]),
    Rule("/ui/session", endpoint="ui_session", methods=["GET"]),
    Rule("/ui/session", endpoint="ui_sign_out", methods=["DELETE"]),
    Rule("/v1/usage", endpoint="get_usage", methods=["GET"]),
    Rule("/v1/batches/<batch_id>/exports/structures.zip", endpoint="get_structures_zip", methods=["GET"]),
]


class Session(BaseModel):
    tenant: str
    tier: str
    auth: str = Field(description="off: the local stack, no key needed")


def ui_root(request: flask.Request) -> flask.Response:
    return flask.Response(status=302, headers={"Location": "/ui/"})


def _asset(folder: str, name: str) -> tuple[bytes, str] | None:
    path = Path(str(resources.files("omtx.web").joinpath(folder, name)))
    if not path.is_file():
        return None
    # Keyed by modification time, so an edited file is served at once (omtx dev) and an
    # unchanged one is read and hashed once per process.
    return _read(path, path.stat().st_mtime_ns)


@lru_cache(maxsize=64)
def _read(path: Path, mtime_ns: int) -> tuple[bytes, str]:
    data = path.read_bytes()
    return data, hashlib.sha256(data).hexdigest()[:32]


def _file(folder: str, name: str, request: flask.Request) -> flask.Response:
    found = _asset(folder, name) if ASSET_NAME.fullmatch(name) else None
    if found is None:
        raise NotFound(f"no console file {folder}/{name}")
    data, etag = found
    # Revalidated on every load (a cheap 304), so a new release is never hidden behind a cache.
    headers = {"ETag": f'"{etag}"', "Cache-Control": "no-cache"}
    if request.headers.get("If-None-Match") == f'"{etag}"':
        return flask.Response(status=304, headers=headers)
    kind = "text/javascript" if name.endswith(".js") else mimetypes.guess_type(name)[0] or "application/octet-stream"
    return flask.Response(
        data, content_type=f"{kind}; charset=utf-8" if kind.startswith("text") else kind, headers=headers
    )


def ui_page(request: flask.Request, **_: str) -> flask.Response:
    return _file(".", "console.html", request)


def ui_asset(request: flask.Request, folder: str, name: str) -> flask.Response:
    if folder not in ASSET_FOLDERS:
        raise NotFound(f"no console folder {folder!r}")
    return _file(ASSET_FOLDERS[folder], name, request)


def _session(caller: Principal) -> Session:
    return Session(tenant=caller.tenant, tier=caller.tier.value, auth=get_settings().auth)


def ui_sign_in(request: flask.Request) -> flask.Response:
    """Checks the key once and keeps it in an HttpOnly cookie: page scripts never hold it, and
    plain download links (exports, job files) carry it like any other request."""
    body = request.get_json(silent=True)
    key = body.get("api_key") if isinstance(body, dict) else None
    if not isinstance(key, str) or not key.strip():
        raise InputError("no API key", [{"loc": ["body", "api_key"], "msg": "paste your API key", "input": None}])
    caller = access.authenticate({"X-API-Key": key.strip()})
    response = json_response(_session(caller))
    if get_settings().auth == "api_key":
        secure = request.is_secure or request.headers.get("X-Forwarded-Proto") == "https"
        response.set_cookie(
            access.SESSION_COOKIE,
            key.strip(),
            max_age=SESSION_MAX_AGE_S,
            path="/",
            httponly=True,
            secure=secure,
            samesite="Strict",
        )
    return response


def ui_session(request: flask.Request, caller: Principal) -> flask.Response:
    return json_response(_session(caller))


def ui_sign_out(request: flask.Request) -> flask.Response:
    response = flask.Response(status=204)
    response.delete_cookie(access.SESSION_COOKIE, path="/", httponly=True, samesite="Strict")
    return response


def get_usage(request: flask.Request, caller: Principal) -> flask.Response:
    raw = request.args.get("days", "30")
    if not raw.isascii() or not raw.isdecimal() or not 1 <= int(raw) <= MAX_DAYS:
        raise InputError("bad days", [{"loc": ["query", "days"], "msg": f"an integer 1–{MAX_DAYS}", "input": raw}])
    result: Usage = usage(caller.tenant, int(raw))
    return json_response(result)


def get_structures_zip(request: flask.Request, caller: Principal, batch_id: str) -> flask.Response:
    batch = batch_store.get_batch(batch_id)
    if batch is None or batch.tenant != caller.tenant:
        raise NotFound(f"batch {batch_id} not found")
    response = flask.Response(structures_zip.stream(batch_id), content_type="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{batch_id}-structures.zip"'
    return response


Handler = Callable[..., flask.Response]
HANDLERS: dict[str, tuple[Handler, Literal["anyone", "tenant"]]] = {
    "ui_root": (ui_root, "anyone"),
    "ui_page": (ui_page, "anyone"),
    "ui_asset": (ui_asset, "anyone"),
    "ui_sign_in": (ui_sign_in, "anyone"),
    "ui_session": (ui_session, "tenant"),
    "ui_sign_out": (ui_sign_out, "anyone"),
    "get_usage": (get_usage, "tenant"),
    "get_structures_zip": (get_structures_zip, "tenant"),
}
