"""What Chai-1 is given: a FASTA per ligand and the name of the shared MSA file
(research/MODELS.md B.2, B.3), and the token limit it enforces. Pure."""

from __future__ import annotations

from omtx.predictors.msa_cache import sequence_sha256

# Chains are lettered in FASTA order in Chai-1's output: the protein first, then the ligand.
PROTEIN_CHAIN = "A"
LIGAND_CHAIN = "B"
# Largest crop Chai-1 has; above it: UnsupportedInputError (B.1). One token per residue and
# one per ligand heavy atom.
MAX_TOKENS = 2048


def ligand_fasta(sequence: str, smiles: str) -> str:
    """One complex: `>{entity}|name={label}` records; entity names must be unique (B.2)."""
    return f">protein|name=protein\n{sequence}\n>ligand|name=ligand\n{smiles}\n"


def msa_basename(sequence: str) -> str:
    """The file Chai-1 looks for in its MSA directory: sha256 of the upper-cased sequence
    (chai_lab/data/parsing/msas/aligned_pqt.py::expected_basename)."""
    return f"{sequence_sha256(sequence)}.aligned.pqt"


def token_count(protein_length: int, heavy_atoms: int) -> int:
    return protein_length + heavy_atoms
