"""CSV (or TSV) libraries: a header row naming a SMILES column, optionally a name and a protein
column, under optional `# key: value` lines.

    # protein: MENFQKVEKIGEGTYGVVYKARNKLTGEVVALKKIRL...
    name,smiles
    aspirin,CC(=O)Oc1ccccc1C(=O)O

Comma, semicolon or tab separated. The SMILES and name columns may use the usual variants
(SMILES, smi, Canonical_SMILES, ID, Compound_ID, ...), or `name_field` names the name column."""

from __future__ import annotations

import csv
import io
import string

from omtx.libraries.columns import NAME_COLUMNS, PROTEIN_COLUMNS, SMILES_COLUMNS, named, normalise, pick
from omtx.libraries.header import read_header, split_lines
from omtx.libraries.model import Library, LibraryError, Row


def read_csv(text: str, encoding: str, name_field: str | None = None) -> Library:
    lines = split_lines(text)
    header, start = read_header(lines)
    if start == len(lines):
        raise LibraryError("no ligand rows: the file has only comment lines")
    name_field = _name_field(name_field, header.values.get("name_field"))
    try:
        return _read_table(lines, start, Library("csv", encoding, [], header), name_field)
    except csv.Error as exc:  # an unbalanced quote, a field over the size limit
        raise LibraryError(f"not a readable CSV: {exc}") from None


def _name_field(given: str | None, in_file: str | None) -> str | None:
    if given and in_file and given != in_file:
        raise LibraryError(f"name_field is {given!r} in the request but {in_file!r} in the file; give it once")
    return given or in_file or None


def _read_table(lines: list[str], start: int, library: Library, name_field: str | None) -> Library:
    # The sniffer only picks the delimiter: its other guesses, made from the header row alone,
    # would read a quoted "" as two quotes instead of one.
    reader = csv.reader(io.StringIO("\n".join(lines[start:])), delimiter=_delimiter(lines[start]))
    names = next(reader)
    columns = [normalise(c) for c in names]
    smiles_col = pick(columns, SMILES_COLUMNS)
    if smiles_col is None:
        raise LibraryError(f"no SMILES column; the header row is {lines[start]!r} (name one column 'smiles')")
    name_col = named(names, name_field) if name_field else pick(columns, NAME_COLUMNS)
    if name_field and name_col is None:
        raise LibraryError(f"name_field {name_field!r} is not a column; the columns are {names}")
    protein_col = pick(columns, PROTEIN_COLUMNS)
    library.columns = {"smiles": names[smiles_col]} | ({"name": names[name_col]} if name_col is not None else {})
    library.protein_column = names[protein_col] if protein_col is not None else None
    read = reader.line_num
    for cells in reader:
        first_line, read = start + read + 1, reader.line_num  # a quoted line break spans lines
        if not any(cell.strip() for cell in cells):
            continue
        row = dict(enumerate(cell.strip() for cell in cells))
        name = row.get(name_col) if name_col is not None else None
        # Only ASCII whitespace is trimmed from the SMILES, as in the API: a no-break space pasted
        # with it is an error naming its position, not something removed without a word.
        smiles = cells[smiles_col].strip(string.whitespace) if smiles_col < len(cells) else ""
        library.rows.append(Row(smiles, name or None, first_line))
        if protein_col is not None and row.get(protein_col):
            library.proteins.setdefault(row[protein_col], first_line)
    if not library.rows:
        raise LibraryError("no ligand rows under the header")
    return library


def _delimiter(header_row: str) -> str:
    try:
        return csv.Sniffer().sniff(header_row, delimiters=",;\t").delimiter
    except csv.Error:
        return ","
