"""API keys and who they make the caller: pure functions, no I/O.

A key reads `omtx_<key id>_<secret>`. The key id (12 hex characters) is the lookup handle that
listings, logs and revocation use; the secret is 256 random bits. Only the SHA-256 of the whole
key is stored: with 256 bits of entropy a fast hash is enough (no password-style stretching is
needed to resist guessing), and it keeps every request to one hash."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from omtx.tenancy.errors import Unauthenticated

PREFIX = "omtx"
KEY_PATTERN = re.compile(rf"^{PREFIX}_(?P<key_id>[0-9a-f]{{12}})_(?P<secret>[A-Za-z0-9_-]{{43}})$")
TENANT_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


class Headers(Protocol):
    """Request headers, looked up case-insensitively (werkzeug's Headers, a test's dict)."""

    def get(self, key: str) -> str | None: ...


class Tier(StrEnum):
    FREE = "free"
    PRO = "pro"
    ADMIN = "admin"  # operators: the status endpoint, and every tenant's view is still its own


class Principal(BaseModel):
    """Who is calling: every read and write is scoped to `tenant`."""

    model_config = ConfigDict(frozen=True)

    tenant: str
    tier: Tier
    key_id: str | None = None  # None when auth is off (the local stack)

    @property
    def metered(self) -> bool:
        """Rate limits and the budget apply to callers with a key."""
        return self.key_id is not None


def generate() -> tuple[str, str]:
    """A new key: (key id, the key itself, shown to its owner once)."""
    key_id = secrets.token_hex(6)
    return key_id, f"{PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_id_of(key: str) -> str:
    match = KEY_PATTERN.match(key)
    if match is None:
        raise Unauthenticated(f"the API key is malformed: keys read {PREFIX}_<12 hex>_<43 characters>")
    return match.group("key_id")


def matches(key: str, stored_hash: str) -> bool:
    return hmac.compare_digest(key_hash(key), stored_hash)


def presented_key(headers: Headers) -> str | None:
    """X-API-Key first: behind Cloud Run IAM the Authorization header carries Google's identity
    token, not ours. Otherwise `Authorization: Bearer omtx_…`."""
    key = headers.get("X-API-Key")
    if key:
        return key.strip()
    scheme, _, token = (headers.get("Authorization") or "").partition(" ")
    token = token.strip()
    if scheme.lower() == "bearer" and token.startswith(f"{PREFIX}_"):
        return token
    return None


def check_tenant_name(tenant: str) -> str:
    """Tenants name object paths (drops/<tenant>/…) and documents: lower-case, digits, '-'."""
    if not TENANT_PATTERN.match(tenant):
        raise ValueError(f"tenant {tenant!r}: 2–63 characters of a-z, 0-9 and '-', starting with a letter or digit")
    return tenant
