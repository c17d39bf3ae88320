"""The in-memory results table against a plain-Python statement of the view: every page walk
(following keyset cursors) lists exactly the rows the filters keep, in the order they define.
Rows from a Parquet export and from job documents are the same rows."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omtx.aggregation import Spool
from omtx.domain import Job, JobStatus
from omtx.gcp.firestore.common import InvalidCursor, as_document
from omtx.results import rows as result_rows
from omtx.results.catalog import JOB_COLUMNS, Kind
from omtx.results.cursor import Keyset
from omtx.results.live import matches
from omtx.results.query import ResultsQuery
from omtx.results.table import ResultsTable

KINDS: dict[str, Kind] = {"a": "number", "b": "boolean", "t": "text", "j": "json"}
STATUSES = ["succeeded", "failed", "queued"]
NAMES = st.text(alphabet="abAB1=c", min_size=0, max_size=4)


@st.composite
def tables(draw: Any) -> list[dict[str, Any]]:
    n = draw(st.integers(0, 40))
    indexes = draw(st.permutations(list(range(n))))
    found = []
    for index in indexes:
        metrics = {
            "a": draw(st.one_of(st.none(), st.sampled_from([0, 1, 2.5, -3]), st.floats(-5, 5))),
            "b": draw(st.one_of(st.none(), st.booleans())),
            "t": draw(st.one_of(st.none(), NAMES)),
            "j": draw(st.one_of(st.none(), st.just({"k": [1, 2]}))),
        }
        doc = {
            "job_id": f"{index:016x}",
            "index": index,
            "ligand_name": draw(NAMES),
            "smiles": "CCO",
            "canonical_smiles": draw(st.sampled_from(["CCO", "c1ccccc1", "C=O"])),
            "inchikey": draw(st.sampled_from(["LFQSCWFLJHTTHZ", "ABC"])),
            "status": draw(st.sampled_from(STATUSES)),
            "duration_s": draw(st.one_of(st.none(), st.floats(0, 2))),
            "metrics": {k: v for k, v in metrics.items() if v is not None},
            "files": {"metadata.json": "gs://x"} if index % 2 else {},
            "result_uri": "gs://x/results.json" if index % 3 else None,
        }
        found.append(result_rows.from_document("b1", doc, ResultsQuery()))
    return found


@st.composite
def queries(draw: Any) -> ResultsQuery:
    order = draw(st.sampled_from([None, "a", "b", "t", "index", "ligand_name", "duration_s"]))
    ranges = draw(st.lists(st.tuples(st.just("a"), st.sampled_from([">=", "<="]), st.floats(-4, 4)), max_size=2))
    return ResultsQuery(
        order=order,
        descending=draw(st.booleans()),
        status=draw(st.sampled_from([None, *STATUSES])),
        ranges=tuple(sorted(ranges)),
        flags=tuple(draw(st.lists(st.tuples(st.just("b"), st.booleans()), max_size=1))),
        search=draw(st.one_of(st.none(), st.sampled_from(["a", "B", "c1", "=", "abc"]))),
        limit=draw(st.integers(1, 7)),
    )


def value(row: dict[str, Any], name: str) -> Any:
    return row.get(name) if name in JOB_COLUMNS else row["metrics"].get(name)


def expected(found: list[dict[str, Any]], q: ResultsQuery) -> list[int]:
    def keep(row: dict[str, Any]) -> bool:
        if q.status and row["status"] != q.status:
            return False
        for name, op, bound in q.ranges:
            v = value(row, name)
            if v is None or (v < bound if op == ">=" else v > bound):
                return False
        if any(value(row, name) is not flag for name, flag in q.flags):
            return False
        return q.search is None or matches(row, q.search)

    kept = sorted((r for r in found if keep(r)), key=lambda r: r["index"])
    if q.order is None or q.constant_order:
        return [r["index"] for r in kept]
    with_value = [r for r in kept if value(r, q.order) is not None]
    ordered = sorted(with_value, key=lambda r: value(r, q.order), reverse=q.descending)  # stable: index ties
    return [r["index"] for r in ordered] + [r["index"] for r in kept if value(r, q.order) is None]


def walk(table: ResultsTable, q: ResultsQuery) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    while True:
        page, after = table.page("b1", q)
        seen += page
        if after is None:
            return seen
        assert len(page) == q.limit
        q = replace(q, after=after)


@settings(max_examples=300, deadline=None)
@given(tables(), queries())
def test_every_page_walk_is_the_view(found: list[dict[str, Any]], q: ResultsQuery) -> None:
    table = ResultsTable.from_rows(found, KINDS)
    pages = walk(table, q)
    assert [r["index"] for r in pages] == expected(found, q)
    by_index = {r["index"]: r for r in found}
    assert all(r == by_index[r["index"]] for r in pages)  # each row as it was given


def test_a_parquet_export_and_the_job_documents_give_the_same_rows(tmp_path) -> None:
    jobs = [
        Job(
            job_id=f"j{i}",
            batch_id="b1",
            index=i,
            shard=0,
            ligand_name=f"=HYPERLINK{i}" if i == 2 else f"lig-{i}",
            smiles="CCO",
            canonical_smiles="CCO",
            inchikey="LFQSCWFLJHTTHZ-UHFFFAOYSA-N",
            input_hash="h",
            status=JobStatus.SUCCEEDED if i % 3 else JobStatus.FAILED,
            metrics={"qed": i / 10, "hbd": i, "pb_valid": i % 2 == 0, "inchikey": "model", "raw": {"x": [i]}}
            if i % 3
            else {},
            executor="local",
            attempts=1,
            earlier_attempts=3 if i == 4 else 0,
            retries=1 if i == 4 else 0,
            cached_from="bX/jY" if i == 5 else None,
            result_uri=f"gs://r/{i}/results.json" if i % 3 else None,
            files={"structure.sdf": f"gs://r/{i}/s.sdf", "metadata.json": "gs://r/m"} if i % 3 else {},
            error=None if i % 3 else "boom",
            duration_s=0.5,
        )
        for i in range(9)
    ]
    spool = Spool(tmp_path / "rows.jsonl").fill(jobs)
    spool.export({"batch_id": "b1", "revision": 0}, io.StringIO(), io.StringIO(), io.StringIO(), tmp_path / "p")
    table = ResultsTable.from_parquet((tmp_path / "p").read_bytes())
    assert table.written == ("b1", "0")
    assert table.catalog.metrics == {
        "qed": "number",
        "hbd": "number",
        "pb_valid": "boolean",
        "inchikey": "text",
        "raw": "json",
    }
    for q in (ResultsQuery(limit=100), ResultsQuery(order="qed", descending=True, limit=100)):
        from_table, _ = table.page("b1", q)
        from_docs = [result_rows.from_document("b1", as_document(job), q) for job in jobs]
        assert sorted(from_table, key=lambda r: r["index"]) == from_docs
    pb_valid, _ = table.page("b1", ResultsQuery(flags=(("pb_valid", True),), limit=100))
    assert [r["index"] for r in pb_valid] == [2, 4, 8]
    declared = ResultsTable.from_parquet((tmp_path / "p").read_bytes(), {"pose_rmsd": "number", "pb_ok": "boolean"})
    assert {"pose_rmsd": "number", "pb_ok": "boolean"}.items() <= declared.catalog.metrics.items()
    assert declared.page("b1", ResultsQuery(flags=(("pb_ok", True),)))[0] == []  # declared, never reported
    cached, retried = (
        from_table[[r["index"] for r in from_table].index(5)],
        from_table[[r["index"] for r in from_table].index(4)],
    )
    assert cached["executor"] == "cache" and (retried["attempts"], retried["retries"]) == (4, 1)


def test_projection_keeps_the_identity_and_the_chosen_metrics() -> None:
    found = [
        result_rows.from_document(
            "b1", {"job_id": "j", "index": 0, "status": "succeeded", "metrics": {"a": 1, "b": True}}, ResultsQuery()
        )
    ]
    table = ResultsTable.from_rows(found, KINDS)
    page, _ = table.page("b1", ResultsQuery(fields=frozenset({"job_id", "index", "status", "a"})))
    assert page == [
        {
            "job_id": "j",
            "index": 0,
            "status": "succeeded",
            "metrics": {"a": 1.0},
            "links": {"self": "/v1/batches/b1/jobs/j"},
        }
    ]


PROJECTIONS = [None, frozenset({"job_id", "index", "a"}), frozenset({"job_id", "index", "ligand_name", "j"})]


@settings(max_examples=150, deadline=None)
@given(tables(), queries())
def test_encoded_pages_are_the_pages(found: list[dict[str, Any]], q: ResultsQuery) -> None:
    """The API's pages (rows kept as JSON once encoded, per projection) are the table's pages,
    each projection walked twice: the second walk is answered from the kept rows."""
    table = ResultsTable.from_rows(found, KINDS)
    for fields in PROJECTIONS * 2:
        query = replace(q, fields=fields)
        while True:
            page, after = table.page("b1", query)
            encoded, encoded_after = table.page_json("b1", query)
            assert [orjson.loads(orjson.dumps(row)) for row in encoded] == orjson.loads(orjson.dumps(page))
            assert encoded_after == after
            if after is None:
                break
            query = replace(query, after=after)


def numbered(n: int, kinds: dict[str, Kind], metrics: Callable[[int], dict[str, Any]]) -> ResultsTable:
    """A table of jobs 0..n-1, job i with `metrics(i)`."""
    found = [
        result_rows.from_document("b1", {"job_id": f"{i:016x}", "index": i, "metrics": metrics(i)}, ResultsQuery())
        for i in range(n)
    ]
    return ResultsTable.from_rows(found, kinds)


def test_kept_rows_are_counted_and_bounded(monkeypatch: Any) -> None:
    from omtx.results import table as table_module

    monkeypatch.setattr(table_module, "ROWS_KEPT", 5)
    table = numbered(12, {"a": "number"}, lambda i: {"a": i})
    before = table.nbytes
    table.page_json("b1", ResultsQuery(limit=3))
    grown = table.nbytes
    assert grown > before
    table.page_json("b1", ResultsQuery(limit=12))
    assert len(table._encoded) == 5
    assert table._encoded_bytes == sum(len(data) for data in table._encoded.values())
    rows, _ = table.page_json("b1", ResultsQuery(limit=12))
    assert [orjson.loads(orjson.dumps(r))["index"] for r in rows] == list(range(12))


def test_a_cursor_whose_value_does_not_fit_the_order_is_refused() -> None:
    table = numbered(4, {"a": "number", "t": "text"}, lambda i: {"a": i, "t": f"n{i}"})
    for order, value in (("a", "n1"), ("t", 1.0), ("a", [1])):
        with pytest.raises(InvalidCursor, match="does not fit"):
            table.page("b1", ResultsQuery(order=order, after=Keyset(value, 1)))
    page, _ = table.page("b1", ResultsQuery(order="t", descending=True, after=Keyset("n2", 2)))
    assert [r["index"] for r in page] == [1, 0]


def test_filtered_views_are_kept_within_their_bound(monkeypatch: Any) -> None:
    from omtx.results import table as table_module

    monkeypatch.setattr(table_module, "VIEWS_KEPT", 2)
    table = numbered(10, {"a": "number"}, lambda i: {"a": i})
    for low in range(5):
        page, _ = table.page("b1", ResultsQuery(order="a", descending=True, ranges=(("a", ">=", float(low)),)))
        assert [r["index"] for r in page] == list(range(9, low - 1, -1))
    assert len(table._views) == 2
