"""Google-signed OIDC identity tokens, as Pub/Sub push and Cloud Scheduler send them."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

import google.auth.exceptions
import google.auth.transport.requests
from google.oauth2 import id_token

from omtx.errors import TransientError
from omtx.tenancy.errors import Unauthenticated

GOOGLE_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"
# A few seconds of clock difference between Google and the instance must not refuse a push.
CLOCK_SKEW_S = 10


@cache
def _transport() -> google.auth.transport.requests.Request:
    return google.auth.transport.requests.Request()


def verify(token: str, audience: str) -> Mapping[str, Any]:
    """The token's claims once its signature (Google's published keys), expiry and audience
    check out. The caller then checks who it names (omtx.tenancy.keys is pure: see access)."""
    try:
        return id_token.verify_token(
            token, _transport(), audience=audience, certs_url=GOOGLE_CERTS_URL, clock_skew_in_seconds=CLOCK_SKEW_S
        )
    except google.auth.exceptions.TransportError as exc:
        raise TransientError(f"Google's token keys could not be fetched: {exc}") from exc
    except ValueError as exc:  # malformed, badly signed, expired, wrong audience
        raise Unauthenticated(f"the identity token is not valid: {exc}") from exc
