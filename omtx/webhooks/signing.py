"""Webhook signatures: HMAC-SHA256 over `timestamp + "." + body`, sent as

    OMTX-Signature: t=1767225600,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd

The timestamp is the attempt's (a retry is signed anew), so a receiver can refuse old requests: a
captured request replayed later than the tolerance fails even though its signature is genuine.
Receivers may copy this module: it needs only the standard library.

Each batch has its own secret, derived from the deployment's signing key and the batch id (so one
tenant's secret can never sign another tenant's webhooks, and nothing secret is stored per batch).
Submit returns it once, with the batch id.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "OMTX-Signature"
SCHEME = "v1"
DEFAULT_TOLERANCE_S = 300
SECRET_PREFIX = "whsec_"


class SignatureError(ValueError):
    """The request is not a genuine, recent webhook: reject it (HTTP 400 or 401)."""


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header's value for `body` sent at `timestamp` (Unix seconds)."""
    return f"t={timestamp},{SCHEME}={_digest(secret, timestamp, body)}"


def verify_signature(
    secret: str, header: str | None, body: bytes, now: float, tolerance_s: float = DEFAULT_TOLERANCE_S
) -> int:
    """Check a received webhook; returns its timestamp, raises SignatureError otherwise.

    Args:
        secret: the batch's webhook secret (`whsec_…`, from the submit response).
        header: the `OMTX-Signature` header as received.
        body: the raw request body, byte for byte (not re-serialised JSON).
        now: the receiver's clock, Unix seconds.
        tolerance_s: how far the signed timestamp may be from `now` (either way, for clock skew).
    """
    timestamp: int | None = None
    signatures: list[str] = []
    for item in (header or "").split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isdecimal():
            timestamp = int(value)
        elif key == SCHEME and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise SignatureError(f"no t=… and {SCHEME}=… in the {HEADER} header")
    if abs(now - timestamp) > tolerance_s:
        raise SignatureError(f"timestamp {timestamp} is outside the {tolerance_s:g} s tolerance")
    expected = _digest(secret, timestamp, body)
    # Any v1 may match: during a key rotation a sender can sign with both secrets.
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
        raise SignatureError("signature mismatch")
    return timestamp


def batch_secret(signing_key: bytes, batch_id: str) -> str:
    """A batch's webhook secret: HMAC of its id under the deployment's signing key."""
    return SECRET_PREFIX + hmac.new(signing_key, f"omtx-webhook:{batch_id}".encode(), hashlib.sha256).hexdigest()
