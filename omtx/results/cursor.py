"""Keyset cursors: the sort value and the job index of a page's last row, never an offset.

A cursor is base64url JSON `{b, q, v, i}` (batch, query fingerprint, value, index) followed by a
checksum. It is validated, not signed: it names a position in the caller's own batch under one
query, which the caller may ask for anyway, so forging one gains nothing; the checks turn a cursor
of another batch or query, or a damaged one, into a clear 400 instead of a wrong page. The same
keyset means the same position in the in-memory table and in Firestore, so a cursor stays valid
when its batch finishes between two pages."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from omtx.gcp.firestore.common import InvalidCursor

CHECK_LEN = 8


@dataclass(frozen=True)
class Keyset:
    """A row's place in a sorted view: its value of the sort column (None: a null) and index."""

    value: Any
    index: int


def _check(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()[:CHECK_LEN]


def encode(batch_id: str, fingerprint: str, after: Keyset) -> str:
    payload = json.dumps(
        {"b": batch_id, "q": fingerprint, "v": after.value, "i": after.index}, separators=(",", ":")
    ).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=") + _check(payload)


def decode(token: str, batch_id: str, fingerprint: str) -> Keyset:
    if len(token) > 2048 or len(token) <= CHECK_LEN:
        raise InvalidCursor("the cursor was not handed out by this API")
    body, check = token[:-CHECK_LEN], token[-CHECK_LEN:]
    try:
        payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        data = json.loads(payload)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidCursor("the cursor was not handed out by this API") from None
    if _check(payload) != check or not isinstance(data, dict) or set(data) != {"b", "q", "v", "i"}:
        raise InvalidCursor("the cursor was not handed out by this API")
    if data["b"] != batch_id:
        raise InvalidCursor("the cursor belongs to another batch")
    if data["q"] != fingerprint:
        raise InvalidCursor(
            "the cursor belongs to another query (order, filters or search changed): start again without it"
        )
    value, index = data["v"], data["i"]
    if not isinstance(index, int) or isinstance(index, bool) or not isinstance(value, str | int | float | None):
        raise InvalidCursor("the cursor was not handed out by this API")
    return Keyset(value, index)
