"""Boltz-2's MSA of a protein: the ColabFold A3M that every YAML of the protein points at, cached
once per protein by the shared rule (omtx.predictors.msa_cache), and checked by its query line."""

from __future__ import annotations

from collections.abc import Callable

from omtx.predictors.msa_cache import MsaStore, cached_msa, sequence_sha256


def a3m_query(a3m: bytes) -> str | None:
    """The first sequence of an A3M text: the query the alignment was built for."""
    for raw in a3m.decode(errors="replace").replace("\x00", "").splitlines():
        line = raw.strip()
        if line and not line.startswith((">", "#")):
            return line.upper()
    return None


def a3m_matches(a3m: bytes, sequence: str) -> bool:
    return a3m_query(a3m) == sequence.upper()


def a3m_depth(a3m: bytes) -> int:
    """Number of aligned sequences, query included (ColabFold repeats the query per database)."""
    return sum(1 for line in a3m.decode(errors="replace").splitlines() if line.startswith(">"))


def boltz2_msa_name(sequence: str) -> str:
    return f"boltz2/colabfold/{sequence_sha256(sequence)}.a3m"


def boltz2_msa(sequence: str, store: MsaStore, compute: Callable[[str], bytes]) -> bytes:
    """The ColabFold A3M that every Boltz-2 YAML of this protein points at."""
    return cached_msa(sequence, store, compute, name=boltz2_msa_name(sequence), valid=a3m_matches)
