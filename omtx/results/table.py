"""A finished batch's rows as an in-memory columnar table (polars), answering any view of them.

Why polars and this shape (benchmarks/results_engines.py, 100,000 rows): a polars DataFrame
filters and sorts a page in 2–3 ms, DuckDB in 5–12 ms, pyarrow compute about twice polars, and
reading the Parquet per request 45–60 ms. Sorting the whole table per page is still most of that,
so each (column, direction) is sorted once into a permutation, each filter is evaluated once into
a boolean mask, and each filtered view (filters in an order) once into the ranks in the order of
the rows that pass, all kept, bounded, beside the table: a page is then a binary search for the
cursor's keyset, a slice, and the gather of its rows, well under a millisecond however deep or
thinly matched. NULLs sort last either way; the job index breaks ties.
"""

from __future__ import annotations

import io
import json
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from omtx.aggregation import FIXED, META_BATCH_ID, META_METRIC_KINDS, META_REVISION
from omtx.gcp.firestore.common import InvalidCursor
from omtx.results import rows
from omtx.results.catalog import JOB_COLUMNS, ROW_FIELDS, Catalog, Kind, metric_column
from omtx.results.cursor import Keyset
from omtx.results.query import ResultsQuery

ORDERS_KEPT = 8  # sort permutations kept per table
MASKS_KEPT = 16  # filter masks kept per table
VIEWS_KEPT = 16  # filtered views (filters in an order) kept per table
# Rows kept encoded as JSON per table (about 0.6 kB each with every field): a page of them is a
# gather of bytes.
ROWS_KEPT = 20_000
ROW_OVERHEAD = 100  # bytes a kept row costs beyond its JSON (the bytes object, its dict slot)
STR_OVERHEAD = 49  # bytes a Python str object takes beyond its (ASCII) text
# polars' estimated_size leaves out what its string views and allocator hold: a 100,000-row table
# takes about 1.45x its estimate in resident memory (measured), so the cache counts that.
FOOTPRINT = 1.5
KIND_DTYPES: dict[str, Any] = {"number": pl.Float64, "boolean": pl.Boolean}
# Parquet columns a table needs; an export written before they existed is served from Firestore.
REQUIRED = frozenset(ROW_FIELDS) | {"files", "result_uri"}
NO_FILTER = ResultsQuery().filters


RowKey = tuple[int, frozenset[str] | None]  # a row's position and the fields shown (None: all)
OrderKey = tuple[str, bool]  # (column, descending)
ViewKey = tuple[OrderKey | None, tuple[object, ...]]  # an order (None: index order) and filters


class Unusable(Exception):
    """This Parquet file cannot back the results view (an older export)."""


@dataclass(frozen=True)
class Order:
    perm: np.ndarray[Any, Any]  # row positions in view order
    # The sort column's non-null values, ascending whichever way the view goes (numbers and flags
    # as float64, texts as Python strings): numpy's binary search on them takes microseconds, a
    # polars search_sorted a lazy query's overhead.
    ascending: np.ndarray[Any, Any]
    descending: bool
    tail_index: np.ndarray[Any, Any]  # job indexes of the rows without a value, ascending
    nbytes: int  # counted once: the cache asks on every request

    @property
    def valued(self) -> int:
        """How many rows have a value: they come first, the rows without one after."""
        return len(self.ascending)

    def span(self, value: Any) -> tuple[int, int]:
        """The positions [lo, hi) in view order of the rows whose sort value equals `value`."""
        lo = int(np.searchsorted(self.ascending, value, "left"))
        hi = int(np.searchsorted(self.ascending, value, "right"))
        return (self.valued - hi, self.valued - lo) if self.descending else (lo, hi)


def search_expr(needle: str) -> pl.Expr:
    """Text search, as `query.matches` does it in Python: name and InChIKey ignoring case, the
    canonical SMILES as written (its case is chemistry: c is aromatic)."""
    return (
        pl.col("ligand_name").str.to_lowercase().str.contains(needle.lower(), literal=True)
        | pl.col("inchikey").str.contains(needle.upper(), literal=True)
        | pl.col("canonical_smiles").str.contains(needle, literal=True)
    )


class ResultsTable:
    def __init__(self, df: pl.DataFrame, kinds: dict[str, Kind]) -> None:
        """`df`: the row fields, `files` (the job's files as JSON), `_result` (whether it has a
        results.json) and one column per metric, named as in the batch's Parquet (`metric.x`
        where x collides with a job field)."""
        self.df = df if df["index"].is_sorted() else df.sort("index")
        self.n = self.df.height
        self.index: np.ndarray[Any, Any] = self.df["index"].to_numpy()
        self._metric_columns = {column.removeprefix("metric."): column for column in kinds}
        self.catalog = Catalog.of({column.removeprefix("metric."): kind for column, kind in kinds.items()})
        # (name, column, JSON text) of every metric a row shows
        self.metric_fields = [(name, column, kinds[column] == "json") for name, column in self._metric_columns.items()]
        self._orders: OrderedDict[OrderKey, Order] = OrderedDict()
        self._masks: OrderedDict[Hashable, np.ndarray[Any, Any]] = OrderedDict()
        self._views: OrderedDict[ViewKey, np.ndarray[Any, Any]] = OrderedDict()
        self._numbers: dict[str, np.ndarray[Any, Any]] = {}
        self._encoded: dict[RowKey, bytes] = {}  # a row's JSON in one projection
        self._encoded_bytes = 0
        self._lock = threading.Lock()
        self.base_bytes = int(self.df.estimated_size() * FOOTPRINT + self.index.nbytes)
        self.written: tuple[str, str] | None = None  # (batch, revision) its export names

    @classmethod
    def from_parquet(cls, data: bytes, declared: Mapping[str, Kind] | None = None) -> ResultsTable:
        """From a batch's Parquet export (omtx.aggregation writes it), read by polars into memory
        it owns (through pyarrow, the table would keep arrow's buffers besides its own); the file
        says which batch and revision it holds (`written`). A `declared` metric no job reported
        is a column of nulls, so a view may name it after the batch finished as before."""
        meta = pq.read_metadata(pa.BufferReader(data))
        names = list(meta.schema.names)
        if missing := REQUIRED - set(names):
            raise Unusable(f"the export lacks {', '.join(sorted(missing))}")
        written = meta.metadata or {}
        kinds_written = json.loads(written.get(META_METRIC_KINDS, b"{}"))
        metric_columns = [c for c in names if c not in FIXED]
        df = pl.read_parquet(io.BytesIO(data), columns=[*ROW_FIELDS, "files", "result_uri", *metric_columns])
        kinds = {c: kinds_written.get(c) or _kind_of_dtype(df[c].dtype) for c in metric_columns}
        absent = {metric_column(n): k for n, k in (declared or {}).items() if metric_column(n) not in kinds}
        df = df.with_columns(pl.lit(None, KIND_DTYPES.get(k, pl.String)).alias(c) for c, k in absent.items())
        kinds |= absent
        df = df.with_columns(
            # The file names are read from `files` when a row is shown: parsing 100,000 JSON
            # texts here would cost a second of the first request.
            pl.col("result_uri").is_not_null().alias("_result"),
            pl.col("status").cast(pl.Categorical),
            pl.col("executor").cast(pl.Categorical),
            *(pl.col(c).fill_nan(None) for c in metric_columns if df[c].dtype.is_float()),
        ).drop("result_uri")
        table = cls(df, kinds)
        table.written = (written.get(META_BATCH_ID, b"").decode(), written.get(META_REVISION, b"").decode())
        return table

    @classmethod
    def from_rows(cls, found: list[dict[str, Any]], kinds: dict[str, Kind]) -> ResultsTable:
        """From results rows (omtx.results.rows) of every field: a running batch's facets."""
        dtypes: dict[str, Any] = {"index": pl.Int64, "attempts": pl.Int64, "retries": pl.Int64}
        dtypes["duration_s"] = pl.Float64
        columns = [pl.Series(f, [r.get(f) for r in found], dtype=dtypes.get(f, pl.String)) for f in ROW_FIELDS]
        files = [json.dumps(dict.fromkeys(n for n in r["links"] if n not in ("self", "results.json"))) for r in found]
        columns.append(pl.Series("files", files, dtype=pl.String))
        columns.append(pl.Series("_result", ["results.json" in r["links"] for r in found], dtype=pl.Boolean))
        metric_kinds: dict[str, Kind] = {}
        for name, kind in kinds.items():
            column = metric_column(name)
            values = [r["metrics"].get(name) for r in found]
            if kind == "json":
                values = [None if v is None else json.dumps(v) for v in values]
            dtype = {"number": pl.Float64, "boolean": pl.Boolean}.get(kind, pl.String)
            columns.append(pl.Series(column, values, dtype=dtype, strict=False))
            metric_kinds[column] = kind
        df = pl.DataFrame(columns).with_columns(pl.col("status").cast(pl.Categorical))
        return cls(df, metric_kinds)

    @property
    def nbytes(self) -> int:
        with self._lock:
            derived = sum(o.nbytes for o in self._orders.values()) + sum(m.nbytes for m in self._masks.values())
            derived += sum(v.nbytes for v in self._views.values())
            derived += self._encoded_bytes + ROW_OVERHEAD * len(self._encoded)
            return self.base_bytes + derived + sum(a.nbytes for a in self._numbers.values())

    def column(self, name: str) -> str:
        """The df column of a catalog name (a job field wins over a metric of the same name)."""
        return name if name in JOB_COLUMNS else self._metric_columns[name]

    # --- the view -----------------------------------------------------------------------------

    def page(self, batch_id: str, query: ResultsQuery) -> tuple[list[dict[str, Any]], Keyset | None]:
        """The page as rows, read back from what `page_json` answers the API with."""
        found, after = self.page_json(batch_id, query)
        return orjson.loads(orjson.dumps(found)), after

    def page_json(self, batch_id: str, query: ResultsQuery) -> tuple[list[orjson.Fragment], Keyset | None]:
        """The page as its rows' JSON, for the API's answer. Each row is encoded once per
        projection (`fields`) and kept: building a row (the gather, to_dicts, its links) was most
        of a page's cost, more than the batch read every request makes."""
        positions = self.positions(query, query.limit + 1)
        shown = [(int(p), query.fields) for p in positions[: query.limit]]
        with self._lock:
            encoded = {key: self._encoded[key] for key in shown if key in self._encoded}
        if missing := [key for key in shown if key not in encoded]:
            records = self.df[[p for p, _ in missing]].to_dicts()
            for key, row in zip(missing, rows.from_records(batch_id, records, self.metric_fields, query), strict=True):
                encoded[key] = orjson.dumps(row)
            self._keep({key: encoded[key] for key in missing})
        return [orjson.Fragment(encoded[key]) for key in shown], self._after(query, positions)

    def _keep(self, new: dict[RowKey, bytes]) -> None:
        with self._lock:
            for key, data in new.items():
                if key not in self._encoded:
                    self._encoded[key] = data
                    self._encoded_bytes += len(data)
            while len(self._encoded) > ROWS_KEPT:  # the oldest first (dicts keep insertion order)
                self._encoded_bytes -= len(self._encoded.pop(next(iter(self._encoded))))

    def _after(self, query: ResultsQuery, positions: np.ndarray[Any, Any]) -> Keyset | None:
        """The keyset of the page's last row when the view goes on past it."""
        if len(positions) <= query.limit or query.limit < 1:
            return None
        last = int(positions[query.limit - 1])
        value = None if query.order is None or query.constant_order else self.df[self.column(query.order)][last]
        return Keyset(value, int(self.index[last]))

    def frames(self, query: ResultsQuery, size: int = 10_000) -> Iterator[pl.DataFrame]:
        """Every row of the view in order, a frame at a time (exports)."""
        positions = self.positions(query, None)
        if not len(positions):
            yield self.df.head(0)  # the columns, for a file of no rows
        for start in range(0, len(positions), size):
            yield self.df[positions[start : start + size]]

    def positions(self, query: ResultsQuery, limit: int | None) -> np.ndarray[Any, Any]:
        """Row positions of the view after the query's cursor, at most `limit` of them."""
        order = None if query.order is None or query.constant_order else self._order(query.order, query.descending)
        perm = np.arange(self.n) if order is None else order.perm
        start = self._start(order, query)
        end = None if limit is None else start + limit
        if query.filters == NO_FILTER:
            return perm[start:end]
        ranks = self._view(order, query)
        first = int(np.searchsorted(ranks, start))
        return perm[ranks[first : None if limit is None else first + limit]]

    def _view(self, order: Order | None, query: ResultsQuery) -> np.ndarray[Any, Any]:
        """The ranks in the order of the rows that pass the query's filters, ascending."""
        key: ViewKey = (None if order is None else (str(query.order), query.descending), query.filters)
        with self._lock:
            if (found := self._views.get(key)) is not None:
                self._views.move_to_end(key)
                return found
        mask = self.mask(query)
        assert mask is not None
        ranks = np.flatnonzero(mask if order is None else mask[order.perm]).astype(np.int32)
        with self._lock:
            self._views[key] = ranks
            while len(self._views) > VIEWS_KEPT:
                self._views.popitem(last=False)
        return ranks

    def _start(self, order: Order | None, query: ResultsQuery) -> int:
        """The first position after the cursor, and past the rows a range on the sort column
        rules out (they lead the order: skipping them spares a search through the view)."""
        start = self._after_cursor(order, query)
        if order is not None:
            for name, op, bound in query.ranges:
                if name == query.order and (op == ">=") != query.descending:
                    start = max(start, order.span(float(bound))[0])
        return start

    def _after_cursor(self, order: Order | None, query: ResultsQuery) -> int:
        after = query.after
        if after is None:
            return 0
        if order is None:
            return int(np.searchsorted(self.index, after.index, side="right"))
        if after.value is None:
            return order.valued + int(np.searchsorted(order.tail_index, after.index, side="right"))
        try:
            text = order.ascending.dtype == object
            if text and not isinstance(after.value, str):
                raise TypeError
            lo, hi = order.span(after.value if text else float(after.value))
        except (TypeError, ValueError):
            raise InvalidCursor("the cursor does not fit this view: start again without it") from None
        return lo + int(np.searchsorted(self.index[order.perm[lo:hi]], after.index, side="right"))

    def _order(self, name: str, descending: bool) -> Order:
        key = (name, descending)
        with self._lock:
            if (found := self._orders.get(key)) is not None:
                self._orders.move_to_end(key)
                return found
        column = self.column(name)
        # Rows are in index order, so a stable sort on the column alone breaks ties by index (and
        # takes half the time of sorting on both).
        sort = pl.arg_sort_by(pl.col(column), descending=descending, nulls_last=True, maintain_order=True)
        perm = self.df.select(sort).to_series().to_numpy()
        values = self.df[column]
        non_null = self.n - values.null_count()
        if values.dtype == pl.Boolean or values.dtype.is_numeric():
            values = values.cast(pl.Float64)  # one dtype to search a cursor's value in
        in_order = values.gather(perm[:non_null]).to_numpy()
        ascending = in_order[::-1].copy() if descending else in_order
        tail = self.index[perm[non_null:]]
        size = perm.nbytes + ascending.nbytes + tail.nbytes
        if ascending.dtype == object:  # Python strings: their text and the object around it
            size += sum(len(text) + STR_OVERHEAD for text in ascending)
        order = Order(perm, ascending, descending, tail, size)
        with self._lock:
            self._orders[key] = order
            while len(self._orders) > ORDERS_KEPT:
                self._orders.popitem(last=False)
        return order

    def mask(self, query: ResultsQuery) -> np.ndarray[Any, Any] | None:
        """Which rows pass the query's filters (None: no filter)."""
        key = query.filters
        if key == NO_FILTER:
            return None
        with self._lock:
            if (found := self._masks.get(key)) is not None:
                self._masks.move_to_end(key)
                return found
        exprs = [pl.col("status") == query.status] if query.status else []
        for name, op, value in query.ranges:
            col = pl.col(self.column(name))
            exprs.append(col >= value if op == ">=" else col <= value)
        exprs += [pl.col(self.column(name)) == flag for name, flag in query.flags]
        if query.search:
            exprs.append(search_expr(query.search))
        mask = self.df.select(pl.all_horizontal(exprs).fill_null(False)).to_series().to_numpy()
        with self._lock:
            self._masks[key] = mask
            while len(self._masks) > MASKS_KEPT:
                self._masks.popitem(last=False)
        return mask

    def numbers(self, name: str) -> np.ndarray[Any, Any]:
        """A numeric column as float64, NaN for null (facets)."""
        with self._lock:
            if (found := self._numbers.get(name)) is not None:
                return found
        array = self.df[self.column(name)].cast(pl.Float64).fill_null(np.nan).to_numpy()
        with self._lock:
            self._numbers[name] = array
        return array


def _kind_of_dtype(dtype: pl.DataType) -> Kind:
    if dtype == pl.Boolean:
        return "boolean"
    return "number" if dtype.is_numeric() else "text"
