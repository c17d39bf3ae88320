"""The results views the API serves, a page, an export or the facets of one query of a batch:
from the batch's in-memory table once it is final (its Parquet export loaded once per instance),
from Firestore while it runs or when its export cannot back a table. Both give the same rows in
the same order, and the same cursors."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from typing import Any, Literal, NamedTuple

from omtx.domain import Batch
from omtx.results import cursor, exports, live
from omtx.results.cache import ENGINE_BYTES, TableCache
from omtx.results.catalog import Catalog, declared
from omtx.results.facets import facets as facets_of
from omtx.results.query import ResultsQuery, parse, referenced
from omtx.results.table import ResultsTable
from omtx.settings import get_settings

Args = Mapping[str, list[str]]  # a query string: every value of each name
Source = Literal["table", "firestore"]

_cache: TableCache | None = None
_cache_lock = threading.Lock()


def table_cache() -> TableCache:
    global _cache
    with _cache_lock:
        if _cache is None:
            _cache = TableCache(get_settings().results_cache_mb * 2**20, engine_bytes=ENGINE_BYTES)
        return _cache


class View(NamedTuple):
    table: ResultsTable | None
    catalog: Catalog
    query: ResultsQuery

    @property
    def source(self) -> Source:
        return "table" if self.table is not None else "firestore"


def _view(batch: Batch, args: Args, *, paged: bool) -> View:
    uri = batch.results.get("parquet")
    table = None
    if batch.status.is_final and uri is not None:
        table = table_cache().get(batch.batch_id, batch.revision, uri, declared(batch.model))
    catalog = table.catalog if table is not None else live.catalog(batch, referenced(args))
    return View(table, catalog, parse(args, catalog, batch_id=batch.batch_id, paged=paged))


def page(batch: Batch, args: Args) -> tuple[dict[str, Any], Source]:
    """The ResultsPage body (omtx.api.schemas) of the query `args` asks for; a finished batch's
    rows come as JSON already (orjson fragments: the body is for orjson.dumps)."""
    view = _view(batch, args, paged=True)
    if view.table is not None:
        found: list[Any]
        found, after = view.table.page_json(batch.batch_id, view.query)
    else:
        found, after = live.page(batch, view.query, view.catalog)
    body = {
        "batch_id": batch.batch_id,
        "status": batch.status.value,
        "results": batch.results,
        "jobs": found,
        "next_cursor": cursor.encode(batch.batch_id, view.query.fingerprint(), after) if after else None,
    }
    return body, view.source


def export(batch: Batch, args: Args, fmt: Literal["csv", "parquet"]) -> tuple[Iterator[bytes], Source]:
    """Every row of the view, streamed; the query is checked before the first byte."""
    view = _view(batch, args, paged=False)
    if view.table is not None:
        columns, frames = exports.table_frames(view.table, view.query)
        stream = exports.csv_stream(columns, frames) if fmt == "csv" else exports.parquet_stream(frames)
        return stream, view.source
    rows = live.every_row(batch, view.query, view.catalog)
    columns, schema, chunks = exports.live_chunks(rows, view.query, view.catalog)
    if fmt == "csv":
        return exports.csv_stream(columns, chunks), view.source
    return exports.parquet_stream(exports.arrow_groups(schema, chunks)), view.source


def facets(batch: Batch, args: Args) -> tuple[dict[str, Any], Source]:
    view = _view(batch, args, paged=False)
    table = view.table if view.table is not None else live.scan_table(batch, view.catalog)
    return {"batch_id": batch.batch_id, "status": batch.status.value, **facets_of(table, view.query)}, view.source


def forget(batch_id: str) -> None:
    """A deleted batch's table goes at once (other instances evict it in time, and never serve it:
    a deleted batch is a 404 before its table is looked up)."""
    table_cache().forget(batch_id)
