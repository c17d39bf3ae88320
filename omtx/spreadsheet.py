"""Cells of every CSV the platform writes. Chemists open these files in Excel, which runs a cell
that starts with `=`, `+`, `-`, `@`, a tab or a carriage return as a formula: a ligand named
`=HYPERLINK(...)` would become a link or a command. Such text cells are written with a leading
apostrophe (OWASP's CSV-injection guidance), so they open as plain text; JSON and Parquet keep
the raw value. Numbers are written as numbers: -7.2 stays a number."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Excel takes a CSV without a byte-order mark for the local code page and garbles UTF-8 names.
ENCODING = "utf-8-sig"
MEDIA_TYPE = "text/csv; charset=utf-8"


def cell(value: Any) -> Any:
    """A value as a CSV cell: empty for None, JSON for containers, text neutralised."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        value = json.dumps(value)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def table(rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> bytes:
    """The rows as the bytes of a whole CSV file: these columns, safe cells, CRLF (RFC 4180)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: cell(row.get(k)) for k in columns})
    return out.getvalue().encode(ENCODING)
