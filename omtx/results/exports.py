"""A view's rows as a file, streamed: every row the view's filters keep, in its order, with the
columns it projects (the row fields, then one column per metric in name order, named as in the
batch's own export). CSV cells go through omtx.spreadsheet (formula-looking text neutralised, a byte-order
mark, CRLF); Parquet is written a row group at a time."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from omtx import spreadsheet
from omtx.results.catalog import ROW_FIELDS, Catalog, Kind, metric_column
from omtx.results.query import ResultsQuery
from omtx.results.table import ResultsTable

CHUNK = 5_000
ROW_TYPES = {"index": pa.int64(), "attempts": pa.int64(), "retries": pa.int64(), "duration_s": pa.float64()}
KIND_TYPES = {"number": pa.float64(), "boolean": pa.bool_()}


def _fields(query: ResultsQuery) -> list[str]:
    return [name for name in ROW_FIELDS if query.wants(name)]


def _metrics(query: ResultsQuery, kinds: dict[str, Kind]) -> list[tuple[str, Kind]]:
    return sorted((name, kind) for name, kind in kinds.items() if query.wants(name))


def table_frames(table: ResultsTable, query: ResultsQuery) -> tuple[list[str], Iterator[pl.DataFrame]]:
    """The columns and frames of a view of a finished batch's table."""
    metrics = sorted((name, column) for name, column, _ in table.metric_fields if query.wants(name))
    renames = {column: metric_column(name) for name, column in metrics}
    columns = _fields(query) + [column for _, column in metrics]

    def frames() -> Iterator[pl.DataFrame]:
        for frame in table.frames(query, CHUNK):
            yield frame.select(columns).rename(renames).with_columns(pl.col(pl.Categorical).cast(pl.String))

    return [renames.get(c, c) for c in columns], frames()


def live_chunks(
    rows: Iterable[dict[str, Any]], query: ResultsQuery, catalog: Catalog
) -> tuple[list[str], pa.Schema, Iterator[list[dict[str, Any]]]]:
    """The columns, Parquet schema and flat rows (in chunks) of a view read from Firestore. The
    rows keep their values as read, so a CSV cell is what the table's would be (1, not 1.0)."""
    fields = _fields(query)
    metrics = _metrics(query, catalog.metrics)
    schema = pa.schema(
        [(f, ROW_TYPES.get(f, pa.string())) for f in fields]
        + [(metric_column(n), KIND_TYPES.get(k, pa.string())) for n, k in metrics]
    )

    def flat(row: dict[str, Any]) -> dict[str, Any]:
        out = {f: row.get(f) for f in fields}
        for name, kind in metrics:
            value = row["metrics"].get(name)
            out[metric_column(name)] = json.dumps(value) if kind == "json" and value is not None else value
        return out

    def chunks() -> Iterator[list[dict[str, Any]]]:
        chunk: list[dict[str, Any]] = []
        for row in rows:
            chunk.append(flat(row))
            if len(chunk) == CHUNK:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    return schema.names, schema, chunks()


def arrow_groups(schema: pa.Schema, chunks: Iterator[list[dict[str, Any]]]) -> Iterator[pa.Table]:
    yield schema.empty_table()  # the columns, for a file of no rows
    for chunk in chunks:
        yield pa.Table.from_pylist(chunk, schema=schema)


def csv_stream(columns: list[str], parts: Iterator[pl.DataFrame | list[dict[str, Any]]]) -> Iterator[bytes]:
    yield _csv_lines([columns]).encode(spreadsheet.ENCODING)  # the byte-order mark, then the header
    for part in parts:
        rows = part.iter_rows() if isinstance(part, pl.DataFrame) else ([r[c] for c in columns] for r in part)
        if lines := [[spreadsheet.cell(v) for v in row] for row in rows]:
            yield _csv_lines(lines).encode("utf-8")


def _csv_lines(lines: list[list[Any]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(lines)
    return out.getvalue()


class _Drain(io.RawIOBase):
    """A write-only sink whose bytes are taken out as they come, so Parquet streams."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._written = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._parts.append(chunk)
        self._written += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._written

    def take(self) -> bytes:
        data, self._parts = b"".join(self._parts), []
        return data


def parquet_stream(parts: Iterator[pl.DataFrame | pa.Table]) -> Iterator[bytes]:
    sink = _Drain()
    writer: pq.ParquetWriter | None = None
    for part in parts:
        table = part.to_arrow() if isinstance(part, pl.DataFrame) else part
        if writer is None:
            writer = pq.ParquetWriter(sink, table.schema, compression="zstd")
        if table.num_rows or writer is None:
            writer.write_table(table)
        yield sink.take()
    if writer is not None:
        writer.close()
    yield sink.take()
