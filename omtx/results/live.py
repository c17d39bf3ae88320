"""The view of a batch that is still running, read from its job documents in Firestore.

Each page is one keyset query that reads only the fields the page returns (a projection) and
builds rows from the decoded values, no model validation per row. The order is the table's:
by the sort value with NULLs last, the job index breaking ties. Firestore leaves a document
without the sort field out of an ordered query, so a sorted view is read in two phases: the rows
with a value (`!= null`, in the sort order), then, unless a filter on the sort column rules them
out, the rows without one in index order. Text search, a range on any field but the sort field,
and the second phase's "has no value" test are applied to the streamed rows, so they read further
into the batch than a plain page. Firestore orders a query by every field it range-filters, so a
range on another field in the query would need a composite index for each pair of fields
(infra/omtx_infra/database.py declares one per sort, with and without an equality filter).

The batch's metrics are those its model declares, and those sampled from its succeeded jobs,
kept a while per instance and sampled again when a request names a metric the sample has not seen."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from omtx.domain import Batch, JobStatus
from omtx.errors import Conflict
from omtx.gcp.firestore import jobs as job_store
from omtx.ids import job_id
from omtx.results import rows
from omtx.results.catalog import JOB_COLUMNS, ROW_FIELDS, Catalog, Kind, declared, kind_of, merge_kind
from omtx.results.cursor import Keyset
from omtx.results.query import ResultsQuery
from omtx.results.table import ResultsTable
from omtx.settings import get_settings

SAMPLE = 50  # succeeded jobs read for the batch's metrics
CATALOG_TTL_S = 30.0
RESAMPLE_AFTER_S = 2.0  # an unknown name triggers a new sample at most this often
SEARCHED = ("ligand_name", "canonical_smiles", "inchikey")
CHUNK = 500  # rows per Firestore read where rows are tested after the read, and in exports

_catalogs: dict[str, tuple[float, Catalog]] = {}
_catalogs_lock = threading.Lock()


def field_path(name: str) -> str:
    """A catalog name as a Firestore field path; the name was checked against the catalog (and
    metric names are identifiers), so the path names that field and nothing else."""
    return name if name in JOB_COLUMNS or name == "status" else f"metrics.{name}"


def catalog(batch: Batch, names: Iterable[str] = ()) -> Catalog:
    """The batch's metrics; `names` (those a request uses) are looked for in a fresh sample when
    the kept one lacks them."""
    now = time.monotonic()
    with _catalogs_lock:
        kept = _catalogs.get(batch.batch_id)
    if kept is not None:
        age, found = now - kept[0], kept[1]
        unknown = [n for n in names if found.kind(n) is None]
        if age < CATALOG_TTL_S and (not unknown or age < RESAMPLE_AFTER_S):
            return found
    kinds: dict[str, Kind | None] = dict(declared(batch.model))
    succeeded = [("status", "==", JobStatus.SUCCEEDED.value)]
    for doc in job_store.stream_rows(batch.batch_id, select=["metrics"], filters=succeeded, limit=SAMPLE):
        for key, value in (doc.get("metrics") or {}).items():
            kinds[key] = merge_kind(kinds.get(key), kind_of(value))
    found = Catalog.of({k: v for k, v in kinds.items() if v is not None})
    with _catalogs_lock:
        if len(_catalogs) > 1000:
            _catalogs.clear()
        _catalogs[batch.batch_id] = (now, found)
    return found


def matches(doc: dict[str, Any], needle: str) -> bool:
    """Text search, as table.search_expr does it in polars."""
    return (
        needle.lower() in (doc.get("ligand_name") or "").lower()
        or needle.upper() in (doc.get("inchikey") or "")
        or needle in (doc.get("canonical_smiles") or "")
    )


def in_range(value: Any, op: str, bound: float) -> bool:
    """A range filter as Firestore applies it: numbers only (not booleans, not NaN)."""
    if not isinstance(value, int | float) or isinstance(value, bool) or value != value:
        return False
    return value >= bound if op == ">=" else value <= bound


def page(batch: Batch, query: ResultsQuery, cat: Catalog) -> tuple[list[dict[str, Any]], Keyset | None]:
    found = list(documents(batch, query, cat, query.limit + 1))
    page_rows = [rows.from_document(batch.batch_id, doc, query) for doc in found[: query.limit]]
    after = None
    if len(found) > query.limit:
        last = found[query.limit - 1]
        value = None if query.order is None or query.constant_order else _value(last, field_path(query.order))
        after = Keyset(value, int(last["index"]))
    return page_rows, after


def every_row(batch: Batch, query: ResultsQuery, cat: Catalog) -> Iterator[dict[str, Any]]:
    for doc in documents(batch, query, cat, None):
        yield rows.from_document(batch.batch_id, doc, query)


def scan_table(batch: Batch, cat: Catalog) -> ResultsTable:
    """Every job of a running batch as a table (facets), up to a bound: beyond it, a 409."""
    limit = get_settings().results_live_scan_max
    if batch.total > limit:
        raise Conflict(
            f"facets of a running batch of more than {limit} jobs are computed once it finishes "
            f"(this one has {batch.total}); results pages and exports work now"
        )
    every = ResultsQuery()
    found = [rows.from_document(batch.batch_id, d, every) for d in documents(batch, every, cat, None)]
    return ResultsTable.from_rows(found, cat.metrics)


def documents(batch: Batch, query: ResultsQuery, cat: Catalog, wanted: int | None) -> Iterator[dict[str, Any]]:
    """The view's job documents in view order after the query's cursor, `wanted` of them (None:
    all). Each Firestore query asks for no more than it may need: the emulator, like a full
    scan, pays for every row of an unbounded query even when only a page is read. A page of the
    plain view (index order, no filter) is looked up by key: job ids follow from the index."""
    batch_id = batch.batch_id
    select = _select(query, cat)
    if query.order is None and query.filters == ResultsQuery().filters and wanted is not None:
        yield from _by_key(batch, select, query.after.index + 1 if query.after else 0, wanted)
        return
    sorted_by = None if query.order is None or query.constant_order else query.order
    filters: list[tuple[str, str, Any]] = [("status", "==", query.status)] if query.status else []
    filters += [(field_path(name), op, value) for name, op, value in query.ranges if name == sorted_by]
    filters += [(field_path(name), "==", flag) for name, flag in query.flags]
    tested = [(field_path(name), op, value) for name, op, value in query.ranges if name != sorted_by]
    search = query.search

    def passes(doc: dict[str, Any]) -> bool:
        return all(in_range(_value(doc, path), op, bound) for path, op, bound in tested) and (
            search is None or matches(doc, search)
        )

    keep: Callable[[dict[str, Any]], bool] | None = passes if tested or search else None
    after = query.after
    by_index = [("index", False)]
    reader = _Reader(batch_id, select, wanted)
    if query.order is None or query.constant_order or query.order == "index":
        # The index is its own tiebreak, and every job has one (Firestore refuses it ordered twice)
        order = [("index", query.order == "index" and query.descending)]
        yield from reader.read(filters, order, [after.index] if after else None, keep)
        return
    path = field_path(query.order)
    if after is None or after.value is not None:
        ordered = [(path, query.descending), ("index", False)]
        with_value = [*filters, (path, "!=", None)] if query.nulls_possible else filters
        yield from reader.read(with_value, ordered, [after.value, after.index] if after else None, keep)
        if not query.nulls_possible:
            return
        after = None

    def lacks_value(doc: dict[str, Any]) -> bool:
        return _value(doc, path) is None and (keep is None or keep(doc))

    yield from reader.read(filters, by_index, [after.index] if after else None, lacks_value)


class _Reader:
    """Keyset reads of a batch's jobs, counting down what the view still wants."""

    def __init__(self, batch_id: str, select: list[str], wanted: int | None) -> None:
        self.batch_id, self.select, self.left = batch_id, select, wanted

    def read(
        self,
        filters: list[tuple[str, str, Any]],
        order: list[tuple[str, bool]],
        after: list[Any] | None,
        keep: Callable[[dict[str, Any]], bool] | None,
    ) -> Iterator[dict[str, Any]]:
        reads = 0
        while self.left is None or self.left > 0:
            if self.left is None:
                size = CHUNK
            elif keep is None:
                size = self.left  # exactly what is left
            else:
                # Rows tested here (search, a range, no value): twice what is left at first, four
                # times more on each further read. A whole chunk at once decoded ten times the rows
                # a page of a filter that keeps half of them needs.
                size = min(CHUNK, 2 * self.left * 4**reads)
            reads += 1
            docs = list(
                job_store.stream_rows(
                    self.batch_id, select=self.select, filters=filters, order=order, after=after, limit=size
                )
            )
            for doc in docs:
                if keep is None or keep(doc):
                    if self.left is not None:
                        self.left -= 1
                    yield doc
                    if self.left == 0:
                        return
            if len(docs) < size:
                return
            after = [_value(docs[-1], path) for path, _ in order]


def _by_key(batch: Batch, select: list[str], start: int, wanted: int) -> Iterator[dict[str, Any]]:
    """Jobs from index `start` on, by key; a job not written yet (fan-out writes them range by
    range) is left out, as a query would."""
    while wanted > 0 and start < batch.total:
        end = min(start + wanted, batch.total)
        found = job_store.job_rows(batch.batch_id, [job_id(batch.batch_id, i) for i in range(start, end)], select)
        found.sort(key=lambda doc: doc["index"])
        yield from found[:wanted]
        wanted -= len(found)
        start = end


def _select(query: ResultsQuery, cat: Catalog) -> list[str]:
    """The fields a row of this view needs: those it returns, what derives them, its links, and
    what the order and the search read."""
    needed = {name for name in ROW_FIELDS if query.wants(name)} | {"job_id", "index", "files", "result_uri"}
    if query.wants("executor"):
        needed.add("cached_from")
    if query.wants("attempts"):
        needed.add("earlier_attempts")
    if query.search:
        needed.update(SEARCHED)
    needed.update(field_path(name) for name, _, _ in query.ranges)  # tested after the read
    if query.fields is None:
        needed.add("metrics")
    else:
        needed.update(f"metrics.{name}" for name in query.fields if cat.is_metric(name))
    if query.order is not None:
        needed.add(field_path(query.order))
    if "metrics" in needed:  # Firestore refuses overlapping paths
        needed = {path for path in needed if not path.startswith("metrics.")}
    return sorted(needed)


def _value(doc: dict[str, Any], path: str) -> Any:
    value: Any = doc
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value
