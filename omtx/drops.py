"""The CSV drop format: one file carries the protein, the model and the ligands.

    # protein: MENFQKVEKIGEGTYGVVYKARNKLTGEVVALKKIRL...
    # protein_id: CDK2_HUMAN          (optional)
    # model: rdkit_props              (optional)
    # params: {"seed": 7}             (optional, JSON)
    # name: my screen                 (optional)
    # on_invalid: skip                (optional; default reject)
    name,smiles
    aspirin,CC(=O)Oc1ccccc1C(=O)O

Comma, semicolon or tab separated; UTF-8 with or without BOM (or UTF-16 with BOM); LF or CRLF.
The SMILES and name columns may use the usual variants (SMILES, smi, Canonical_SMILES, ID,
Compound_ID, ...). The protein may instead be a column (protein, sequence, ...) with one value on
every row. Pure parsing: no I/O."""

from __future__ import annotations

import csv
import io
import json
import re
import string
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from omtx.domain import SKIPPABLE_ROWS, BatchRequest

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
HEADER_KEYS = {"protein", "protein_id", "model", "params", "name", "on_invalid", "labels"}
EXTENSIONS = (".csv", ".tsv", ".txt")


class DropError(ValueError):
    """The file cannot become a batch; the message says why, for the result file."""


def _normalise(column: str) -> str:
    return re.sub(r"[\s_\-.]", "", column.strip().lower())


def decode(data: bytes) -> str:
    if not data.strip():
        raise DropError("the file is empty")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise DropError(f"the file starts like UTF-16 but is not valid UTF-16: {exc.reason}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DropError(
            f"the file is not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); save it as UTF-8 CSV"
        ) from None


@dataclass(frozen=True)
class ParsedDrop:
    request: BatchRequest
    lines: list[int]  # the file line (1-based) of each ligand row, for error messages


def parse(data: bytes) -> ParsedDrop:
    """The batch a dropped file describes, or DropError saying why the file cannot be one."""
    try:
        return _parse(decode(data))
    except csv.Error as exc:  # an unbalanced quote, a field over the size limit
        raise DropError(f"not a readable CSV: {exc}") from None


def _parse(text: str) -> ParsedDrop:
    # Only real line breaks: str.splitlines() would also split on U+2028, \x85 or form feeds
    # inside a name.
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    header = _read_header(lines)
    table = _read_table(lines, header.body_start)
    if len(table.proteins) > 1:
        raise DropError(f"the protein column holds {len(table.proteins)} different sequences; one file is one protein")
    sequence = header.values.get("protein") or next(iter(table.proteins), None)
    if not sequence:
        raise DropError("no protein: add a '# protein: <sequence>' line above the header, or a 'protein' column")
    protein = {"sequence": sequence} | ({"id": header.values["protein_id"]} if header.values.get("protein_id") else {})
    request: dict[str, Any] = {"protein": protein, "ligands": table.ligands}
    for key in ("model", "name", "on_invalid"):
        if header.values.get(key):
            request[key] = header.values[key]
    for key in ("params", "labels"):
        if header.values.get(key):
            try:
                request[key] = json.loads(header.values[key])
            except (json.JSONDecodeError, RecursionError) as exc:  # RecursionError: [[[[… nested too deep
                raise DropError(f"{header.where(key)} is not valid JSON: {exc}") from None
    try:
        # As in the API: a bad row is the row's problem (skippable, named with its line), not the file's
        return ParsedDrop(BatchRequest.model_validate(request, context={SKIPPABLE_ROWS: True}), table.lines)
    except ValidationError as exc:
        problems = [f"{_place(e['loc'], header, table)}: {e['msg']}" for e in exc.errors()[:20]]
        raise DropError("; ".join(problems)) from None


@dataclass(frozen=True)
class _Header:
    values: dict[str, str]  # from the '# key: value' lines above the header row
    lines: dict[str, int]  # key → its file line
    body_start: int  # index of the header row in the file's lines

    def where(self, key: str) -> str:
        return f"'# {key}:' (line {self.lines[key]})"


def _read_header(lines: list[str]) -> _Header:
    values: dict[str, str] = {}
    at: dict[str, int] = {}
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("#"):
            return _Header(values, at, index)
        key, sep, value = stripped.lstrip("#").partition(":")
        key = key.strip().lower().replace(" ", "_")
        if sep and key in HEADER_KEYS:
            values[key], at[key] = value.strip(), index + 1
    raise DropError("no ligand rows: the file has only comment lines")


@dataclass(frozen=True)
class _Table:
    ligands: list[dict[str, Any]]
    lines: list[int]  # the file line (1-based) each ligand's row starts on
    columns: dict[str, str]  # ligand field (smiles, name) → its column's name as written
    proteins: dict[str, int]  # each sequence in the protein column → the first line it is on
    protein_column: str | None


def _read_table(lines: list[str], body_start: int) -> _Table:
    # The sniffer only picks the delimiter: its other guesses, made from the header row alone,
    # would read a quoted "" as two quotes instead of one.
    reader = csv.reader(io.StringIO("\n".join(lines[body_start:])), delimiter=_delimiter(lines[body_start]))
    names = next(reader)
    columns = [_normalise(c) for c in names]
    smiles_col = _pick(columns, SMILES_COLUMNS)
    if smiles_col is None:
        raise DropError(f"no SMILES column; the header row is {lines[body_start]!r} (name one column 'smiles')")
    name_col = _pick(columns, NAME_COLUMNS)
    protein_col = _pick(columns, PROTEIN_COLUMNS)
    table = _Table(
        [],
        [],
        {"smiles": names[smiles_col]} | ({"name": names[name_col]} if name_col is not None else {}),
        {},
        names[protein_col] if protein_col is not None else None,
    )
    read = reader.line_num
    for row in reader:
        first_line, read = body_start + read + 1, reader.line_num  # a quoted line break spans lines
        if not any(cell.strip() for cell in row):
            continue
        cells = dict(enumerate(cell.strip() for cell in row))
        name = cells.get(name_col) if name_col is not None else None
        # Only ASCII whitespace is trimmed from the SMILES, as in the API: a no-break space pasted
        # with it is an error naming its position, not something removed without a word.
        smiles = row[smiles_col].strip(string.whitespace) if smiles_col < len(row) else ""
        table.ligands.append({"name": name or None, "smiles": smiles or " "})
        table.lines.append(first_line)
        if protein_col is not None and cells.get(protein_col):
            table.proteins.setdefault(cells[protein_col], first_line)
    if not table.ligands:
        raise DropError("no ligand rows under the header")
    return table


def _place(loc: tuple[int | str, ...], header: _Header, table: _Table) -> str:
    """Where in the file the value at `loc` (a pydantic error location) came from."""
    if len(loc) >= 2 and loc[0] == "ligands" and isinstance(loc[1], int) and loc[1] < len(table.lines):
        field = str(loc[2]) if len(loc) > 2 else "smiles"
        return f"line {table.lines[loc[1]]}, column {table.columns.get(field, field)!r}"
    key = "protein_id" if loc[:2] == ("protein", "id") else str(loc[0]) if loc else ""
    if key == "protein" and key not in header.values and table.protein_column is not None:
        return f"line {next(iter(table.proteins.values()))}, column {table.protein_column!r}"
    if key in header.lines:
        return header.where(key)
    return ".".join(map(str, loc))


def _delimiter(header_row: str) -> str:
    try:
        return csv.Sniffer().sniff(header_row, delimiters=",;\t").delimiter
    except csv.Error:
        return ","


def _pick(columns: list[str], aliases: tuple[str, ...]) -> int | None:
    """The column of the most specific alias present (an exact 'smiles' beats 'molecule')."""
    for alias in aliases:
        if alias in columns:
            return columns.index(alias)
    return None


def result_name(object_name: str) -> str:
    stem = object_name.rsplit(".", 1)[0] if "." in object_name.rsplit("/", 1)[-1] else object_name
    return f"{stem}.result.json"
