"""Chai-1's MSA of a protein: the `.aligned.pqt` file its MSA directory holds, cached once per
protein with the same rule as Boltz-2's A3M (omtx.predictors.msa_cache)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from omtx.predictors.chai1.inputs import msa_basename
from omtx.predictors.msa_cache import COLABFOLD_URL, MsaStore, cached_msa, sequence_sha256

PARQUET_MAGIC = b"PAR1"


def chai1_msa_name(sequence: str) -> str:
    return f"chai1/colabfold/{sequence_sha256(sequence)}.aligned.pqt"


def is_parquet(data: bytes, sequence: str) -> bool:
    """A whole Parquet file (magic at both ends). Chai-1 matches MSAs to proteins by file name,
    and the cache name carries the sequence hash, so the content needs no query check."""
    return len(data) > 8 and data.startswith(PARQUET_MAGIC) and data.endswith(PARQUET_MAGIC)


def chai1_msa(sequence: str, store: MsaStore, compute: Callable[[str], bytes]) -> bytes:
    """The ColabFold MSA every Chai-1 run of this protein reads from its MSA directory."""
    return cached_msa(sequence, store, compute, name=chai1_msa_name(sequence), valid=is_parquet)


def colabfold_aligned_pqt(sequence: str, server_url: str = COLABFOLD_URL) -> bytes:
    """One ColabFold search through Chai-1's own client, which writes the .aligned.pqt file."""
    from chai_lab.data.dataset.msas.colabfold import generate_colabfold_msas

    with tempfile.TemporaryDirectory(prefix="chai1-msa-") as tmp:
        msa_dir = Path(tmp)
        generate_colabfold_msas(protein_seqs=[sequence], msa_dir=msa_dir, msa_server_url=server_url)
        return (msa_dir / msa_basename(sequence)).read_bytes()
