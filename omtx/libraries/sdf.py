"""SD files (.sdf, .sd): molfiles (V2000 or V3000), each followed by its data items and a `$$$$`
line. Each record becomes one row: the molecule as RDKit reads it (hydrogens removed, stereo
from wedges or 3D coordinates, charges, isotopes and radicals kept) written as SMILES, named by
its title line, or by the data item `name_field` names.

Streamed: the file is read line by line, and each record is converted as soon as its `$$$$`
arrives, so memory holds one record and the SMILES read so far, never the file. A record that
cannot be read is a row with its problem (its number and first line), never the end of the
file: skip mode runs the others."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from rdkit import Chem, rdBase

from omtx.libraries.columns import NAME_COLUMNS, named, normalise
from omtx.libraries.encoding import Lines, decode_part, fallback_warning
from omtx.libraries.model import Library, LibraryError, Row

MAX_LINE_BYTES = 1 << 20
MAX_RECORD_BYTES = 4 << 20  # a drug-sized molfile is a few kB; a protein is not a ligand
SHOWN = 5
NEWLINE = b"\n"
TAG = re.compile(r"<([^>]*)>")
TIMESTAMP = re.compile(r"^\[\d\d:\d\d:\d\d\] ?")


@dataclass
class _Notes:
    """What the file-level warnings are made of, gathered while streaming."""

    fallback: list[int] = field(default_factory=list)  # records read as Windows-1252
    fallback_warning: str | None = None
    unnamed_by_field: list[int] = field(default_factory=list)  # records without name_field


def read_sdf(chunks: Iterable[bytes], name_field: str | None = None, max_rows: int | None = None) -> Library:
    lines = Lines(chunks, MAX_LINE_BYTES)
    library = Library("sdf", "utf-8", [])
    notes = _Notes()
    record: list[bytes] = []
    size, start, ended = 0, 1, True
    for raw in lines:
        if raw.startswith(b"$$$$"):
            _finish(library, record, start, size, name_field, notes, max_rows)
            record, size, start, ended = [], 0, lines.lines_read + 1, True
            continue
        ended = ended and not raw.strip()
        size += len(raw) + 1
        if size <= MAX_RECORD_BYTES:
            record.append(raw)
    if not ended:
        _finish(library, record, start, size, name_field, notes, max_rows)
        library.warnings.append(
            f"the file does not end with a '$$$$' line: if it was cut short, its last record "
            f"(record {len(library.rows)}, line {start}) may be incomplete"
        )
    library.encoding = "cp1252" if notes.fallback else lines.encoding
    if not library.rows:
        raise LibraryError("no records: an SD file holds molfiles, each ended by a '$$$$' line")
    _file_warnings(library, notes, name_field)
    return library


def _finish(
    library: Library,
    record: list[bytes],
    start: int,
    size: int,
    name_field: str | None,
    notes: _Notes,
    max_rows: int | None,
) -> None:
    if not any(line.strip() for line in record):
        return  # blank lines between records, or after the last one
    number = len(library.rows) + 1
    if max_rows is not None and number > max_rows:
        raise LibraryError(f"more than {max_rows} records; a batch takes at most {max_rows} ligands: split the file")
    if size > MAX_RECORD_BYTES:
        problem = f"the record is over {MAX_RECORD_BYTES >> 20} MiB: not a ligand, or its '$$$$' line is missing"
        library.rows.append(Row("", None, start, number, problem))
        return
    raw = b"\n".join(record)
    try:
        text, bad = decode_part(raw)
    except UnicodeDecodeError:
        library.rows.append(Row("", None, start, number, "the record is neither UTF-8 nor Windows-1252 text"))
        return
    if bad is not None:
        notes.fallback.append(number)
        where = f"line {start + raw.count(NEWLINE, 0, bad)}, record {number}"
        notes.fallback_warning = notes.fallback_warning or fallback_warning(raw, bad, where)
    library.rows.append(_row(text.split("\n"), start, number, name_field, notes))


def _row(lines: list[str], start: int, number: int, name_field: str | None, notes: _Notes) -> Row:
    ends = [i for i, line in enumerate(lines) if line.startswith("M  END")]
    items = _data_items(lines[ends[0] + 1 :] if ends else [])
    name = _name(lines[0].strip(), items, name_field, number, notes)
    if not ends:
        cut = _structure_problem(lines, len(lines), start) if len(lines) >= 4 else None
        return Row("", name, start, number, cut or "no 'M  END' line: not a molfile")
    if len(ends) > 1:
        two = (
            f"two molfiles in one record ('M  END' on lines {start + ends[0]} and {start + ends[1]}): "
            "the '$$$$' line between them is missing"
        )
        return Row("", name, start, number, two)
    if cut := _structure_problem(lines, ends[0], start):
        return Row("", name, start, number, cut)
    smiles, problem = _to_smiles("\n".join(lines[: ends[0] + 1]))
    return Row(smiles, name, start, number, problem)


def _data_items(lines: list[str]) -> dict[str, str]:
    """`> <tag>` lines, each followed by its value lines up to a blank line."""
    items: dict[str, str] = {}
    index = 0
    while index < len(lines):
        if lines[index].startswith(">") and (tag := TAG.search(lines[index])):
            values = []
            index += 1
            while index < len(lines) and lines[index].strip():
                values.append(lines[index])
                index += 1
            items.setdefault(tag.group(1), "\n".join(values).strip())
        index += 1
    return items


def _name(title: str, items: dict[str, str], name_field: str | None, number: int, notes: _Notes) -> str | None:
    if name_field:
        tags = list(items)
        found = named(tags, name_field)
        if found is not None and items[tags[found]]:
            return items[tags[found]]
        notes.unnamed_by_field.append(number)
    if title:
        return title
    for tag, value in items.items():  # an untitled record named by a usual name item (ID, Name…)
        if normalise(tag) in NAME_COLUMNS and value:
            return value
    return None


def _structure_problem(lines: list[str], end: int, start: int) -> str | None:
    """A record cut short, said in the molfile's own terms (RDKit only says it could not read it)."""
    if end < 4:
        return (
            f"the molfile is cut short: {end} line(s) before 'M  END', and a molfile starts with 3 header "
            "lines and a counts line"
        )
    counts = lines[3]
    if "V3000" in counts:
        body = lines[4:end]
        missing = [part for part in ("BEGIN CTAB", "END ATOM", "END CTAB") if f"M  V30 {part}" not in body]
        return f"the V3000 molfile is cut short: no 'M  V30 {missing[0]}' line" if missing else None
    try:
        atoms, bonds = int(counts[0:3]), int(counts[3:6])
    except ValueError:
        return f"line {start + 3} is not a molfile counts line (atoms, bonds, ... V2000): {counts[:40]!r}"
    if end - 4 < atoms + bonds:
        return (
            f"the molfile is cut short: its counts line (line {start + 3}) announces {atoms} atoms and {bonds} "
            f"bonds, and only {end - 4} lines come before 'M  END'"
        )
    return None


def _to_smiles(molblock: str) -> tuple[str, str | None]:
    # RDKit logs instead of raising: its error log is captured, and nothing reaches stderr
    with rdBase.BlockLogs(), rdBase.CaptureErrorLog() as capture:
        mol = Chem.MolFromMolBlock(molblock)
        # Read again without sanitizing only to tell bad chemistry from an unreadable molfile
        unsanitized = Chem.MolFromMolBlock(molblock, sanitize=False) if mol is None else None
        if unsanitized is not None:
            try:
                Chem.SanitizeMol(unsanitized)
            except Exception as exc:  # RDKit raises several unrelated types for chemistry problems
                return "", f"invalid chemistry: {exc}"
    if mol is not None:
        return (Chem.MolToSmiles(mol), None) if mol.GetNumAtoms() else ("", "the molfile has no atoms")
    return "", f"RDKit could not read the molfile: {_message(capture.messages) or 'no reason given'}"


def _message(captured: str) -> str | None:
    """The one line of an RDKit error log that says what was wrong."""
    for line in (TIMESTAMP.sub("", raw).strip() for raw in captured.splitlines()):
        if line.startswith("Violation occurred") or line == "----------":
            return None
        if line and line != "****" and not line.endswith("Violation"):
            return line
    return None


def _file_warnings(library: Library, notes: _Notes, name_field: str | None) -> None:
    if notes.fallback_warning:
        others = len(notes.fallback) - 1
        more = f" ({others} more record(s) too: {_listed(notes.fallback[1:])})" if others else ""
        library.warnings.insert(0, notes.fallback_warning + more)
    if notes.unnamed_by_field:
        library.warnings.append(
            f"name_field {name_field!r} is missing or empty in {len(notes.unnamed_by_field)} record(s) "
            f"({_listed(notes.unnamed_by_field)}): their title line names them"
        )


def _listed(numbers: list[int]) -> str:
    shown = ", ".join(map(str, numbers[:SHOWN]))
    return shown + (f" and {len(numbers) - SHOWN} more" if len(numbers) > SHOWN else "")
