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
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from omtx.domain import BatchRequest
from omtx.errors import InputError

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
    header: dict[str, str] = {}
    # Only real line breaks: str.splitlines() would also split on U+2028, \x85 or form feeds
    # inside a name.
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    body_start = 0
    for body_start, line in enumerate(lines):  # noqa: B007 - the index is used after the loop
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("#"):
            break
        key, sep, value = stripped.lstrip("#").partition(":")
        key = key.strip().lower().replace(" ", "_")
        if sep and key in HEADER_KEYS:
            header[key] = value.strip()
    else:
        raise DropError("no ligand rows: the file has only comment lines")
    table = "\n".join(lines[body_start:])
    try:
        dialect = csv.Sniffer().sniff(table.split("\n", 1)[0], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(table), dialect)
    columns = [_normalise(c) for c in next(reader)]
    smiles_col = _pick(columns, SMILES_COLUMNS)
    if smiles_col is None:
        raise DropError(f"no SMILES column; the header row is {lines[body_start]!r} (name one column 'smiles')")
    name_col = _pick(columns, NAME_COLUMNS)
    protein_col = _pick(columns, PROTEIN_COLUMNS)

    ligands: list[dict[str, Any]] = []
    lines_of: list[int] = []
    proteins: set[str] = set()
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        cell = row[smiles_col].strip() if smiles_col < len(row) else ""
        name = row[name_col].strip() if name_col is not None and name_col < len(row) else None
        ligands.append({"name": name or None, "smiles": cell or " "})
        lines_of.append(body_start + reader.line_num)
        if protein_col is not None and protein_col < len(row) and row[protein_col].strip():
            proteins.add(row[protein_col].strip())
    if not ligands:
        raise DropError("no ligand rows under the header")
    if len(proteins) > 1:
        raise DropError(f"the protein column holds {len(proteins)} different sequences; one file is one protein")
    sequence = header.get("protein") or next(iter(proteins), None)
    if not sequence:
        raise DropError("no protein: add a '# protein: <sequence>' line above the header, or a 'protein' column")
    request: dict[str, Any] = {
        "protein": {"sequence": sequence} | ({"id": header["protein_id"]} if header.get("protein_id") else {}),
        "ligands": ligands,
    }
    for key in ("model", "name", "on_invalid"):
        if header.get(key):
            request[key] = header[key]
    for key in ("params", "labels"):
        if header.get(key):
            try:
                request[key] = json.loads(header[key])
            except json.JSONDecodeError as exc:
                raise DropError(f"'# {key}:' is not valid JSON: {exc}") from None
    try:
        return ParsedDrop(BatchRequest.model_validate(request), lines_of)
    except ValidationError as exc:
        raise DropError(InputError.from_validation("", exc).summary()) from None


def _pick(columns: list[str], aliases: tuple[str, ...]) -> int | None:
    """The column of the most specific alias present (an exact 'smiles' beats 'molecule')."""
    for alias in aliases:
        if alias in columns:
            return columns.index(alias)
    return None


def result_name(object_name: str) -> str:
    stem = object_name.rsplit(".", 1)[0] if "." in object_name.rsplit("/", 1)[-1] else object_name
    return f"{stem}.result.json"
