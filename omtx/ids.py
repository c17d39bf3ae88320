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
    """Counter shards for a batch. Shards hold contiguous blocks of job indexes, so one chunk's
    results land on one or two shards and are counted with one Increment each; the count is
    chosen so that every shard holds exactly `shard_block` jobs except possibly the last."""
    wanted = max(1, min(max_shards, math.ceil(total / jobs_per_shard)))
    return math.ceil(total / math.ceil(total / wanted)) if total else 1


def shard_block(total: int, shards: int) -> int:
    return max(1, math.ceil(total / shards))


def shard_of(index: int, total: int, shards: int) -> int:
    return index // shard_block(total, shards)


def shard_size(shard: int, total: int, shards: int) -> int:
    """How many jobs map to `shard` under `shard_of`: lets a shard know when it is full."""
    block = shard_block(total, shards)
    return max(0, min(block, total - shard * block))
