"""Which encoding a chemist's file is in. Excel on Windows saves "CSV" in the local code page
(Windows-1252 in Western Europe and the Americas), "Unicode text" as UTF-16 with a byte-order
mark, and "CSV UTF-8" with a UTF-8 one; ChemDraw, KNIME and RDKit write UTF-8. So: a byte-order
mark decides; else the file must be strict UTF-8; else Windows-1252 when every byte decodes, and
the result says so (a wrong guess shows in the names it quotes). Nothing else is guessed."""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from omtx.libraries.model import LibraryError

BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
FALLBACK = "cp1252"
SNIFF_BYTES = 4096  # what a BOM-less UTF-16 file is recognised on


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str
    warning: str | None = None


def decode(data: bytes) -> Decoded:
    """The file's text, or LibraryError naming the byte that is neither."""
    if not data.strip():
        raise LibraryError("the file is empty")
    for bom, encoding in BOMS:
        if data.startswith(bom):
            try:
                return Decoded(data.decode(encoding), encoding)
            except UnicodeDecodeError as exc:
                name = encoding.upper().removesuffix("-SIG")
                raise LibraryError(
                    f"the file starts with a {name} byte-order mark but is not valid {name}: {exc.reason} "
                    f"at byte {exc.start}"
                ) from None
    if b"\x00" in data:
        return _utf16_without_bom(data)
    try:
        return Decoded(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError as exc:
        bad = exc.start
    try:
        text = data.decode(FALLBACK)
    except UnicodeDecodeError as exc:
        raise LibraryError(
            f"the file is neither UTF-8 nor Windows-1252: byte 0x{data[exc.start]:02x} at line "
            f"{_line_of(data, exc.start)} (and 0x{data[bad]:02x} at line {_line_of(data, bad)} is not UTF-8); "
            "save it as UTF-8"
        ) from None
    return Decoded(text, FALLBACK, fallback_warning(data, bad))


def fallback_warning(data: bytes, bad: int, where: str | None = None) -> str:
    """What the result says when a file was read as Windows-1252: where, and what it read."""
    start = data.rfind(b"\n", 0, bad) + 1
    end = data.find(b"\n", bad)
    line = data[start : end if end >= 0 else len(data)].decode(FALLBACK, errors="replace").strip()
    shown = line if len(line) <= 80 else line[:77] + "..."
    return (
        f"not UTF-8 (byte 0x{data[bad]:02x} at {where or f'line {_line_of(data, bad)}'}): read as Windows-1252 "
        f"(cp1252), the Windows code page Excel's plain 'CSV' is saved in; that line reads {shown!r}. If it "
        "does not, save the file as UTF-8 (Excel: 'CSV UTF-8')"
    )


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _utf16_without_bom(data: bytes) -> Decoded:
    """Text of mostly ASCII characters in UTF-16 has a NUL in every other byte; anything else with
    a NUL in it is not a text file."""
    head = data[:SNIFF_BYTES]
    even, odd = head[0::2], head[1::2]
    for encoding, zeros, other in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if len(data) % 2 == 0 and zeros.count(0) >= 0.9 * len(zeros) and other.count(0) == 0:
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                break
            return Decoded(text, encoding, f"no byte-order mark: read as {encoding.upper()} from its NUL bytes")
    at = data.index(b"\x00")
    raise LibraryError(
        f"byte 0x00 at line {_line_of(data, at)}: a binary file, not a text library "
        "(UTF-8, UTF-16 with a byte-order mark, or Windows-1252)"
    )


def decode_part(raw: bytes) -> tuple[str, int | None]:
    """One part of a streamed file (an SDF record): its text, and the offset of its first byte
    that is not UTF-8 when it needed the Windows-1252 fallback. UnicodeDecodeError when it is
    neither."""
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return raw.decode(FALLBACK), exc.start


class Lines:
    """The lines of a byte stream, without their line ends, never holding more than one line (and
    one chunk) in memory. The first chunk decides: a UTF-16 byte-order mark → transcoded to UTF-8;
    a NUL byte → LibraryError (binary); a UTF-8 byte-order mark → dropped. A line longer than
    `max_line` bytes is LibraryError: no library format has one, and binary data would."""

    def __init__(self, chunks: Iterable[bytes], max_line: int) -> None:
        self._chunks = iter(chunks)
        self.max_line = max_line
        self.encoding = "utf-8"
        self.lines_read = 0

    def __iter__(self) -> Iterator[bytes]:
        chunks = self._decoded()
        pending = b""
        for chunk in chunks:
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for line in complete:
                self.lines_read += 1
                yield line.removesuffix(b"\r")
            if len(pending) > self.max_line:
                raise LibraryError(
                    f"line {self.lines_read + 1} is longer than {self.max_line} bytes: not a text library"
                )
        if pending:
            self.lines_read += 1
            yield pending.removesuffix(b"\r")

    def _decoded(self) -> Iterator[bytes]:
        first = next((c for c in self._chunks if c), b"")
        if first.startswith(codecs.BOM_UTF8):
            first = first[len(codecs.BOM_UTF8) :]
            self.encoding = "utf-8-sig"
        elif first.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            self.encoding = "utf-16"
            yield from self._transcoded(first)
            return
        if (nul := first.find(b"\x00")) >= 0:
            raise LibraryError(
                f"byte 0x00 at byte {nul}: a binary file, not a text library "
                "(UTF-8, UTF-16 with a byte-order mark, or Windows-1252)"
            )
        yield first
        yield from self._chunks

    def _transcoded(self, first: bytes) -> Iterator[bytes]:
        decoder = codecs.getincrementaldecoder("utf-16")()
        try:
            yield decoder.decode(first).encode()
            for chunk in self._chunks:
                yield decoder.decode(chunk).encode()
            yield decoder.decode(b"", final=True).encode()
        except UnicodeDecodeError as exc:
            raise LibraryError(
                f"the file starts with a UTF-16 byte-order mark but is not valid UTF-16: {exc.reason}"
            ) from None
