"""One MSA per protein, computed once and cached in Cloud Storage by sequence hash, so every later
chunk and batch of the same protein reuses it (research/MODELS.md A.3, B.3).

Boltz-2 (an A3M) and Chai-1 (an `.aligned.pqt`) share this rule and differ only in the file they
cache and how it is checked, which their own `msa` modules supply. The rule is pure
(`cached_msa` over a `MsaStore` and a compute function); the store that talks to Cloud Storage
is thin, and imports the Google client only when it is used."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import Annotated, Literal, Protocol

from pydantic import Field

log = logging.getLogger(__name__)

# Objects live under this prefix of the results bucket: <prefix><model>/<source>/<sha256>.<ext>
MSA_PREFIX = "msa-cache/"
COLABFOLD_URL = "https://api.colabfold.com"

# The MSA of a protein sequence, as a chunk predictor is given it (the cache, in production).
MsaSource = Callable[[str], bytes]
# The `msa` parameter of every model that uses this cache; the Modal app reads it by that name
# to compute a new protein's MSA before the GPU call (modal_gpu/common.py::msa_sequence).
MsaChoice = Annotated[
    Literal["colabfold", "none"],
    Field(description="colabfold: one MSA per protein from the ColabFold server, cached; none: single sequence"),
]


class MsaStore(Protocol):
    """Where computed MSAs are kept, by object name."""

    def get(self, name: str) -> bytes | None: ...

    def put(self, name: str, data: bytes) -> str: ...


def sequence_sha256(sequence: str) -> str:
    """The cache key; upper-cased because Chai-1 names its MSA files the same way."""
    return hashlib.sha256(sequence.upper().encode()).hexdigest()


def cached_msa(
    sequence: str,
    store: MsaStore,
    compute: Callable[[str], bytes],
    *,
    name: str,
    valid: Callable[[bytes, str], bool],
) -> bytes:
    """The MSA of `sequence`: the stored one when it is valid for this sequence, else a fresh
    one, stored before it is returned. A corrupt or foreign object is replaced, not trusted."""
    stored = store.get(name)
    if stored is not None:
        if valid(stored, sequence):
            return stored
        log.warning("cached MSA %s does not match its sequence; recomputing", name)
    data = compute(sequence)
    if not valid(data, sequence):
        raise ValueError(f"the MSA computed for {name} does not start with its query sequence")
    store.put(name, data)
    return data


class GcsMsaStore:
    """MSAs in the results bucket. An existence check, then a download: two requests, so the
    Google client's NotFound never has to be imported here."""

    def __init__(self, bucket: str, prefix: str = MSA_PREFIX) -> None:
        self.bucket = bucket
        self.prefix = prefix

    def get(self, name: str) -> bytes | None:
        from omtx.gcp import storage

        uri = storage.gcs_uri(self.bucket, self.prefix + name)
        return storage.get_bytes(uri) if storage.exists(uri) else None

    def put(self, name: str, data: bytes) -> str:
        from omtx.gcp import storage

        # Overwrites: two containers racing on a new protein both store a valid MSA.
        return storage.put_bytes(self.bucket, self.prefix + name, data, "application/octet-stream")
