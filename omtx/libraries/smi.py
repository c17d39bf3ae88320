"""SMILES files (.smi, .smiles): one molecule a line, the SMILES first, then whitespace and its
name (Daylight's convention: the rest of the line is the name).

    # protein: MENFQKVEKIGEGTYGVVYKARNKLTGEVVALKKIRL...     (optional, as in a CSV)
    SMILES Name                                            (optional title line)
    CC(=O)Oc1ccccc1C(=O)O aspirin
    Cn1cnc2c1c(=O)n(C)c(=O)n2C	caffeine

As RDKit's SmilesMolSupplier reads them: lines starting with `#` are comments, and a first line
that names its columns (its first field is `SMILES`, `smiles`, `Canonical_SMILES`, ...) is the
title line. Only a tab or a space separates fields: any other character (a no-break space) is
part of the SMILES and named as an error there. A title line with more than two columns makes
the file a table: fields split on tabs (or runs of spaces), and the name is the column that
`name_field` names, else the first usual name column (ID, Name, ...), else the second column."""

from __future__ import annotations

import re

from omtx.libraries.columns import NAME_COLUMNS, SMILES_COLUMNS, named, normalise, pick
from omtx.libraries.header import read_header, split_lines
from omtx.libraries.model import Library, LibraryError, Row

SPACES = re.compile(r"[ \t]+")
CXSMILES = (
    "a CXSMILES extension ({ext!r}) after the SMILES: not supported here (its stereo groups, "
    "coordinates or labels would be lost); send the plain SMILES"
)


def read_smi(text: str, encoding: str, name_field: str | None = None) -> Library:
    lines = split_lines(text)
    header, start = read_header(lines)
    library = Library("smi", encoding, [], header)
    name_field = name_field or header.values.get("name_field") or None
    columns: list[str] | None = None  # a title line's column names
    name_col: int | None = None
    for index in range(start, len(lines)):
        line = lines[index].strip(" \t")
        if not line or line.startswith("#"):
            continue
        if columns is None and not library.rows and _is_title(line):
            columns = _fields(line)
            name_col = _name_column(columns, name_field)
            continue
        library.rows.append(_row(line, index + 1, name_col if columns and len(columns) > 2 else None))
    if name_field and columns is None:
        raise LibraryError(
            f"name_field {name_field!r} names a column, and this SMILES file has no title line "
            "(the name is the rest of each line)"
        )
    if not library.rows:
        raise LibraryError("no SMILES lines in the file")
    return library


def _is_title(line: str) -> bool:
    first = SPACES.split(line, maxsplit=1)[0]
    if normalise(first) in SMILES_COLUMNS:
        return True
    cells = re.split(r"[,;]", first)
    if len(cells) > 1 and normalise(cells[0]) in SMILES_COLUMNS + NAME_COLUMNS:
        raise LibraryError(f"this looks like a CSV file (its first line is {line!r}): name it .csv")
    return False


def _fields(line: str) -> list[str]:
    return line.split("\t") if "\t" in line else SPACES.split(line)


def _name_column(columns: list[str], name_field: str | None) -> int | None:
    if name_field:
        found = named(columns, name_field)
        if found is None:
            raise LibraryError(f"name_field {name_field!r} is not a column; the title line names {columns}")
        return found
    found = pick([normalise(c) for c in columns[1:]], NAME_COLUMNS)
    return 1 + found if found is not None else 1


def _row(line: str, number: int, name_col: int | None) -> Row:
    if name_col is not None:  # a table under a title line
        cells = [c.strip(" \t") for c in _fields(line)]
        name = cells[name_col] if name_col < len(cells) else None
        return Row(cells[0], name or None, number)
    smiles, *rest = SPACES.split(line, maxsplit=1)
    name = rest[0].strip(" \t") if rest else ""
    if name.startswith("|"):  # OpenSMILES/ChemAxon: "C[C@H](O)N |&1:1| name"
        extension = name[: name.find("|", 1) + 1] or name
        return Row(smiles, None, number, problem=CXSMILES.format(ext=extension))
    return Row(smiles, name or None, number)
