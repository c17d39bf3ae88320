"""Ligand libraries as chemists have them: CSV/TSV tables, SMILES files and SD files, in the
encodings their tools write. One parser per format, the same for drops, uploads to the API, the
CLI and the console; pure (no I/O beyond the bytes given).

    library = parse_library(data, "screen.sdf")
    library.rows       # Row(smiles, name, line, record, problem) for every ligand of the file
    library.encoding   # what the text was read as; library.warnings says when it was a guess
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import IO

from omtx.libraries.csvfile import read_csv
from omtx.libraries.encoding import decode
from omtx.libraries.model import Format, Header, Library, LibraryError, Row
from omtx.libraries.sdf import read_sdf
from omtx.libraries.smi import read_smi

__all__ = ["EXTENSIONS", "Format", "Header", "Library", "LibraryError", "Row", "format_of", "parse_library", "stem_of"]

EXTENSIONS: dict[str, Format] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".smi": "smi",
    ".smiles": "smi",
    ".sdf": "sdf",
    ".sd": "sdf",
}
WORKBOOKS = (".xlsx", ".xls", ".xlsm", ".ods")
CHUNK = 1 << 20


def format_of(filename: str) -> Format | None:
    """The format a file name's extension says, or None."""
    return EXTENSIONS.get(_extension(filename))


def stem_of(filename: str) -> str:
    """The name without its library extension: `screen` for screen.smi and screen.sdf."""
    extension = _extension(filename)
    return filename[: -len(extension)] if extension in EXTENSIONS else filename


def _extension(filename: str) -> str:
    base = filename.rsplit("/", 1)[-1]
    return "." + base.rsplit(".", 1)[-1].lower() if "." in base else ""


def parse_library(
    data: bytes | IO[bytes] | Iterable[bytes],
    filename: str,
    *,
    name_field: str | None = None,
    max_rows: int | None = None,
) -> Library:
    """The rows of a library file, each with its line (and SDF record) and, when it cannot be
    read, its problem; LibraryError when the file as a whole is not a library. `data` is the
    file's bytes, a binary file, or its chunks: an SD file is streamed, never held whole.
    `max_rows` stops an SD file early (a table is counted by whoever reads the rows)."""
    kind = format_of(filename)
    if kind is None:
        hint = " (an Excel workbook: save it as 'CSV UTF-8')" if _extension(filename) in WORKBOOKS else ""
        raise LibraryError(f"{filename!r}: only {', '.join(EXTENSIONS)} files are ligand libraries{hint}")
    chunks = _chunks(data)
    if kind == "sdf":
        return read_sdf(chunks, name_field, max_rows)
    decoded = decode(b"".join(chunks))
    library = (read_csv if kind == "csv" else read_smi)(decoded.text, decoded.encoding, name_field)
    if decoded.warning:
        library.warnings.insert(0, decoded.warning)
    return library


def _chunks(data: bytes | IO[bytes] | Iterable[bytes]) -> Iterable[bytes]:
    if isinstance(data, bytes | bytearray | memoryview):
        return [bytes(data)]
    if hasattr(data, "read"):
        reader = data
        return iter(lambda: reader.read(CHUNK), b"")
    return data
