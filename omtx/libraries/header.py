"""The `# key: value` lines above a CSV or SMILES table: what the file says about its batch."""

from __future__ import annotations

from omtx.libraries.model import Header

HEADER_KEYS = frozenset({"protein", "protein_id", "model", "params", "name", "on_invalid", "labels", "name_field"})


def read_header(lines: list[str]) -> tuple[Header, int]:
    """The header and the index of the first line that is neither blank nor a comment (len(lines)
    when there is none). Comment lines that name no key are comments."""
    header = Header()
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("#"):
            return header, index
        key, sep, value = stripped.lstrip("#").partition(":")
        key = key.strip().lower().replace(" ", "_")
        if sep and key in HEADER_KEYS:
            header.values[key], header.lines[key] = value.strip(), index + 1
    return header, len(lines)


def split_lines(text: str) -> list[str]:
    """Only real line breaks: str.splitlines() would also split on U+2028, \\x85 or form feeds
    inside a name."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
