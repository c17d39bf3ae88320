"""What Chai-1 is given: its parameters, a FASTA per ligand and the name of the shared MSA file
(research/MODELS.md B.2, B.3). Pure."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from omtx.predictors.boltz2_msa import sequence_sha256

# Chains are lettered in FASTA order in Chai-1's output: the protein first, then the ligand.
PROTEIN_CHAIN = "A"
LIGAND_CHAIN = "B"
# Largest crop Chai-1 has; above it: UnsupportedInputError (B.1). One token per residue and
# one per ligand heavy atom.
MAX_TOKENS = 2048


class Chai1Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    num_trunk_recycles: int = Field(3, ge=1, le=20, description="trunk recycles")
    num_diffn_timesteps: int = Field(200, ge=10, le=1000, description="diffusion steps")
    num_diffn_samples: int = Field(
        5, ge=1, le=25, description="structures sampled; the best by aggregate_score is kept"
    )
    use_esm_embeddings: bool = Field(True, description="ESM2 language-model embeddings of the protein")
    msa: Literal["colabfold", "none"] = Field(
        "colabfold",
        description="colabfold: one MSA per protein from the ColabFold server, cached; none: single sequence",
    )
    seed: int = Field(42, ge=0, le=2**31 - 1)


def ligand_fasta(sequence: str, smiles: str) -> str:
    """One complex: `>{entity}|name={label}` records; entity names must be unique (B.2)."""
    return f">protein|name=protein\n{sequence}\n>ligand|name=ligand\n{smiles}\n"


def msa_basename(sequence: str) -> str:
    """The file Chai-1 looks for in its MSA directory: sha256 of the upper-cased sequence
    (chai_lab/data/parsing/msas/aligned_pqt.py::expected_basename)."""
    return f"{sequence_sha256(sequence)}.aligned.pqt"


def token_count(protein_length: int, heavy_atoms: int) -> int:
    return protein_length + heavy_atoms
