"""Column names chemists' tools write, for the SMILES, the name and the protein."""

from __future__ import annotations

import re

# Most specific first: when a file has several, the earlier alias wins.
SMILES_COLUMNS = (
    "smiles",
    "canonicalsmiles",
    "isomericsmiles",
    "ligandsmiles",
    "molsmiles",
    "compoundsmiles",
    "smi",
    "structure",
    "molecule",
)
NAME_COLUMNS = (
    "name",
    "ligandname",
    "compoundname",
    "moleculename",
    "molname",
    "id",
    "ligandid",
    "compoundid",
    "molid",
    "zincid",
    "chemblid",
    "identifier",
    "title",
    "ligand",
    "compound",
)
PROTEIN_COLUMNS = ("proteinsequence", "targetsequence", "receptorsequence", "sequence", "protein")


def normalise(column: str) -> str:
    return re.sub(r"[\s_\-.]", "", column.strip().lower())


def pick(columns: list[str], aliases: tuple[str, ...]) -> int | None:
    """The column of the most specific alias present (an exact 'smiles' beats 'molecule');
    `columns` are normalised."""
    for alias in aliases:
        if alias in columns:
            return columns.index(alias)
    return None


def named(names: list[str], wanted: str) -> int | None:
    """The column a user named (`name_field`): as written, else the same name normalised."""
    if wanted in names:
        return names.index(wanted)
    normalised = [normalise(n) for n in names]
    return normalised.index(normalise(wanted)) if normalise(wanted) in normalised else None
