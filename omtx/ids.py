"""Identifiers and hashes. Ids are random or hashed, never sequential: Firestore hotspots on
monotonically increasing document ids."""

from __future__ import annotations

import hashlib
import json
import math
import secrets
from typing import Any


def new_batch_id() -> str:
    return "b" + secrets.token_hex(8)


def job_id(batch_id: str, index: int) -> str:
    return hashlib.sha256(f"{batch_id}:{index}".encode()).hexdigest()[:16]


def input_hash(model: str, model_version: str, params: dict[str, Any], sequence: str, smiles: str) -> str:
    """The cache key of one prediction: same model, parameters, protein and molecule → same result."""
    payload = json.dumps([model, model_version, params, sequence, smiles], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def shard_count(total: int, jobs_per_shard: int, max_shards: int) -> int:
    return max(1, min(max_shards, math.ceil(total / jobs_per_shard)))


def shard_of(index: int, shards: int) -> int:
    return index % shards


def shard_size(shard: int, total: int, shards: int) -> int:
    """How many jobs map to `shard` under `shard_of`: lets a shard know when it is full."""
    return total // shards + (1 if shard < total % shards else 0)
