"""What reading a ligand library gives, whatever its format: rows, each with where it is in the
file and, when it could not be read, why; the encoding the text was read in; and what the file
says of itself (its `# key: value` lines)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Format = Literal["csv", "smi", "sdf"]


class LibraryError(ValueError):
    """The file as a whole cannot be read as a library; the message says why (and where)."""


@dataclass
class Row:
    """One ligand of the file. A row with a `problem` is still a row: it keeps its place, so
    skip mode skips it and an error names it beside every other bad row."""

    smiles: str
    name: str | None
    line: int  # the file line (1-based) the row or record starts on
    record: int | None = None  # SDF: the record's number (1-based)
    problem: str | None = None


@dataclass
class Header:
    """The `# key: value` lines above a CSV or SMILES table."""

    values: dict[str, str] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)  # key → its file line

    def where(self, key: str) -> str:
        return f"'# {key}:' (line {self.lines[key]})"


@dataclass
class Library:
    format: Format
    encoding: str  # utf-8, utf-8-sig, utf-16, utf-16-le, utf-16-be or cp1252
    rows: list[Row]
    header: Header = field(default_factory=Header)
    warnings: list[str] = field(default_factory=list)  # about the file, not one row
    columns: dict[str, str] = field(default_factory=dict)  # CSV: smiles/name → the column as written
    proteins: dict[str, int] = field(default_factory=dict)  # CSV protein column: sequence → first line
    protein_column: str | None = None

    def where(self, index: int, field: str = "smiles") -> str:
        """Row `index` as a chemist finds it in the file."""
        row = self.rows[index]
        if row.record is not None:
            return f"record {row.record} (line {row.line})"
        if field in self.columns:
            return f"line {row.line}, column {self.columns[field]!r}"
        return f"line {row.line}"

    def locate(self, details: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """{loc, msg, input} entries of ligand rows, with the row's file `line` (and SDF `record`)."""
        out = []
        for item in details:
            loc = item.get("loc") or []
            if len(loc) >= 2 and loc[0] == "ligands" and isinstance(loc[1], int) and 0 <= loc[1] < len(self.rows):
                row = self.rows[loc[1]]
                item = item | {"line": row.line} | ({"record": row.record} if row.record is not None else {})
            out.append(item)
        return out
