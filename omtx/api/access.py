"""Who may call: the API key of a /v1 request (and its rate limit), the operator check, and the
OIDC identity of the push routes. The API's router calls these before any handler runs."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Literal

from werkzeug.http import parse_cookie

from omtx.gcp import oidc
from omtx.gcp.firestore import tenants
from omtx.settings import get_settings
from omtx.tenancy import keys, limits
from omtx.tenancy.errors import Forbidden, RateLimited, Unauthenticated
from omtx.tenancy.keys import Headers, Principal, Tier

GOOGLE_ISSUERS = frozenset({"accounts.google.com", "https://accounts.google.com"})
# The console keeps the key in this HttpOnly, SameSite=Strict cookie (POST /ui/session). A request
# that changes state on the strength of the cookie must also carry CONSOLE_HEADER: a page on
# another origin cannot set a custom header without a CORS preflight this API never grants.
SESSION_COOKIE = "omtx_session"
CONSOLE_HEADER = "X-OMTX-Console"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PushCaller = Literal["pubsub", "scheduler"]


def authenticate(headers: Headers, method: str = "GET") -> Principal:
    """The caller's tenant and tier, after its request was counted against its rate limit. With
    auth off, every caller is the configured tenant with operator rights (the local stack)."""
    settings = get_settings()
    if settings.auth == "off":
        return Principal(tenant=settings.tenant, tier=Tier.ADMIN)
    key = keys.presented_key(headers) or session_key(headers, method)
    if key is None:
        raise Unauthenticated("an API key is required: send Authorization: Bearer <key> or X-API-Key: <key>")
    record = tenants.get_key(keys.key_id_of(key))
    # One answer for an unknown id and a wrong secret: no oracle for which key ids exist.
    if record is None or not keys.matches(key, record.hash):
        raise Unauthenticated("the API key is not valid")
    if record.revoked_at is not None:
        raise Unauthenticated(f"the API key {record.key_id} was revoked at {record.revoked_at.isoformat()}")
    principal = Principal(tenant=record.tenant, tier=record.tier, key_id=record.key_id)
    _count_request(principal)
    return principal


def session_key(headers: Headers, method: str) -> str | None:
    """The key of the console's session cookie, if any (see SESSION_COOKIE)."""
    key = parse_cookie(headers.get("Cookie") or "").get(SESSION_COOKIE)
    if not key:
        return None
    if method.upper() not in SAFE_METHODS and headers.get(CONSOLE_HEADER) != "1":
        raise Forbidden(f"a console session must send {CONSOLE_HEADER}: 1 with {method} requests (CSRF protection)")
    return key


def _count_request(principal: Principal) -> None:
    assert principal.key_id is not None
    index, retry_after = limits.window(time.time())
    allowed = limits.requests_per_window(get_settings(), principal.tier)
    if tenants.count_request(principal.key_id, index, limits.expiry(index)) > allowed:
        raise RateLimited(
            f"key {principal.key_id} ({principal.tier.value} tier) made more than {allowed} requests "
            f"this minute; retry in {retry_after} s",
            retry_after,
        )


def require_operator(principal: Principal) -> None:
    if principal.tier != Tier.ADMIN:
        raise Forbidden(f"operators only: key {principal.key_id} is {principal.tier.value} tier, not admin")


def verify_push(headers: Headers, caller: PushCaller) -> None:
    """With push_auth=oidc, the request must carry a Google-signed token for this service (its
    URL as audience) from the one identity that calls this route."""
    settings = get_settings()
    if settings.push_auth == "off":
        return
    scheme, _, token = (headers.get("Authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("this route takes a Google-signed OIDC token (Authorization: Bearer)")
    assert settings.push_audience is not None
    claims = oidc.verify(token.strip(), settings.push_audience)
    expected = settings.push_service_account if caller == "pubsub" else settings.scheduler_service_account
    assert expected is not None
    check_push_claims(claims, expected)


def check_push_claims(claims: Mapping[str, Any], service_account: str) -> None:
    """The claims a verified token must also carry: Google as issuer, and the expected service
    account's verified email (any Google identity can mint a token for our audience)."""
    if claims.get("iss") not in GOOGLE_ISSUERS:
        raise Unauthenticated(f"the token was not issued by Google (iss={claims.get('iss')!r})")
    if claims.get("email") != service_account or claims.get("email_verified") is not True:
        raise Forbidden(f"the token's identity {claims.get('email')!r} may not call this route")
