"""Spike: which in-memory engine answers a results page of a finished batch fastest.

One synthetic 100,000-row table shaped like a batch's Parquet export (identity columns, a float
score and qed, an integer, a boolean flag, some NULLs), the same page queries through each engine:
the first page sorted by a metric, a page deep in the sort (keyset: after a value and an index),
a filtered page (a range and a boolean flag), and a text search. Prints each engine's p95 on one
thread and the pages/s with 8 threads. DuckDB is not a dependency of the project: install it
(`pip install duckdb`) to include it; engines that are not installed are skipped.

    .venv/bin/python benchmarks/results_engines.py --rows 100000 --seconds 5
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

PAGE = 50
Query = dict[str, Any]


def table(rows: int) -> pa.Table:
    rng = random.Random(7)
    alphabet = "CNOScno()=#123"

    def smiles() -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(12, 40)))

    failed = {i for i in range(rows) if rng.random() < 0.05}
    return pa.table(
        {
            "index": pa.array(range(rows), pa.int64()),
            "job_id": [f"{rng.getrandbits(64):016x}" for _ in range(rows)],
            "ligand_name": [f"L{i}" for i in range(rows)],
            "canonical_smiles": [smiles() for _ in range(rows)],
            "inchikey": ["".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(27)) for _ in range(rows)],
            "status": ["failed" if i in failed else "succeeded" for i in range(rows)],
            "score": [None if i in failed else round(rng.random(), 6) for i in range(rows)],
            "qed": [None if i in failed else round(rng.random(), 4) for i in range(rows)],
            "hbd": [None if i in failed else rng.randint(0, 6) for i in range(rows)],
            "lipinski_pass": [None if i in failed else rng.random() < 0.7 for i in range(rows)],
        }
    )


def queries(t: pa.Table) -> list[Query]:
    scores = sorted((s for s in t.column("score").to_pylist() if s is not None), reverse=True)
    deep = scores[len(scores) * 3 // 4]
    return [
        {"order": "score", "desc": True},
        {"order": "score", "desc": True, "after": (deep, 0)},
        {"order": "qed", "desc": False, "min": ("score", 0.5), "flag": "lipinski_pass"},
        {"order": "score", "desc": True, "search": "CC(="},
    ]


def polars_filter(q: Query) -> Any:
    """The query's rows as one polars expression (the keyset too: after the value and index)."""
    import polars as pl

    col, expr = pl.col(q["order"]), pl.lit(True)
    if "min" in q:
        expr &= pl.col(q["min"][0]) >= q["min"][1]
    if "flag" in q:
        expr &= pl.col(q["flag"]) == True  # noqa: E712 (an expression, not a comparison)
    if "search" in q:
        expr &= pl.col("canonical_smiles").str.contains(q["search"], literal=True)
    if "after" in q:
        value, index = q["after"]
        beyond = col < value if q["desc"] else col > value
        expr &= beyond | ((col == value) & (pl.col("index") > index)) | col.is_null()
    return expr


def polars_page(frame: Any, q: Query) -> Any:
    """One page of a DataFrame or a LazyFrame: filtered, sorted (NULLs last, index ties), headed."""
    found = frame.filter(polars_filter(q))
    return found.sort([q["order"], "index"], descending=[q["desc"], False], nulls_last=True).head(PAGE)


def polars_engine(t: pa.Table, lazy: bool = False) -> Callable[[Query], list[dict[str, Any]]]:
    """Eager: the whole filtered frame sorted per page; lazy: polars plans sort and head as a top-k."""
    import polars as pl

    df = pl.from_arrow(t)
    assert isinstance(df, pl.DataFrame)

    def page(q: Query) -> list[dict[str, Any]]:
        found = polars_page(df.lazy(), q).collect() if lazy else polars_page(df, q)
        return list(found.to_dicts())

    return page


def results_table_engine(t: pa.Table) -> Callable[[Query], list[dict[str, Any]]]:
    """The service's own: a polars DataFrame with each sort order kept as a permutation and each
    filter as a mask (omtx/results/table.py)."""
    import polars as pl

    from omtx.results.catalog import ROW_FIELDS
    from omtx.results.cursor import Keyset
    from omtx.results.query import ResultsQuery
    from omtx.results.table import ResultsTable

    df = pl.from_arrow(t)
    assert isinstance(df, pl.DataFrame)
    missing = [pl.lit(None, pl.String).alias(f) for f in ROW_FIELDS if f not in df.columns]
    df = df.with_columns(*missing, pl.lit("{}").alias("files"), pl.lit(False).alias("_result"))
    table = ResultsTable(df, {"score": "number", "qed": "number", "hbd": "number", "lipinski_pass": "boolean"})

    def page(q: Query) -> list[dict[str, Any]]:
        query = ResultsQuery(
            order=q["order"],
            descending=q["desc"],
            ranges=((q["min"][0], ">=", q["min"][1]),) if "min" in q else (),
            flags=((q["flag"], True),) if "flag" in q else (),
            search=q.get("search"),
            limit=PAGE,
            after=Keyset(*q["after"]) if "after" in q else None,
        )
        return table.page("b", query)[0]

    return page


def duckdb_engine(t: pa.Table) -> Callable[[Query], list[dict[str, Any]]]:
    import duckdb

    db = duckdb.connect()
    db.register("arrow_rows", t)
    db.execute("CREATE TABLE rows AS SELECT * FROM arrow_rows")
    local = threading.local()

    def page(q: Query) -> list[dict[str, Any]]:
        cur = getattr(local, "cur", None) or db.cursor()
        local.cur = cur
        where, args = ["TRUE"], []
        col = q["order"]  # a fixed name here; the service checks names against the schema
        if "min" in q:
            where.append(f"{q['min'][0]} >= ?")
            args.append(q["min"][1])
        if "flag" in q:
            where.append(f"{q['flag']} = TRUE")
        if "search" in q:
            where.append("contains(canonical_smiles, ?)")
            args.append(q["search"])
        if "after" in q:
            op = "<" if q["desc"] else ">"
            where.append(f"({col} {op} ? OR ({col} = ? AND index > ?) OR {col} IS NULL)")
            args += [q["after"][0], q["after"][0], q["after"][1]]
        direction = "DESC" if q["desc"] else "ASC"
        sql = (
            f"SELECT * FROM rows WHERE {' AND '.join(where)} ORDER BY {col} {direction} NULLS LAST, index LIMIT {PAGE}"
        )
        result = cur.execute(sql, args)
        names = [d[0] for d in result.description]
        return [dict(zip(names, row, strict=True)) for row in result.fetchall()]

    return page


def arrow_engine(t: pa.Table) -> Callable[[Query], list[dict[str, Any]]]:
    def page(q: Query) -> list[dict[str, Any]]:
        col = t.column(q["order"])
        mask = pc.is_valid(t.column("index"))
        if "min" in q:
            mask = pc.and_kleene(mask, pc.greater_equal(t.column(q["min"][0]), q["min"][1]))
        if "flag" in q:
            mask = pc.and_kleene(mask, pc.equal(t.column(q["flag"]), True))
        if "search" in q:
            mask = pc.and_kleene(mask, pc.match_substring(t.column("canonical_smiles"), q["search"]))
        if "after" in q:
            value, index = q["after"]
            beyond = pc.less(col, value) if q["desc"] else pc.greater(col, value)
            tie = pc.and_(pc.equal(col, value), pc.greater(t.column("index"), index))
            mask = pc.and_kleene(mask, pc.or_kleene(pc.or_kleene(beyond, tie), pc.is_null(col)))
        found = t.filter(pc.fill_null(mask, False))
        order = pc.sort_indices(
            found,
            sort_keys=[(q["order"], "descending" if q["desc"] else "ascending"), ("index", "ascending")],
            null_placement="at_end",
        )
        return found.take(order[:PAGE]).to_pylist()

    return page


def parquet_per_request(path: Path) -> Callable[[Query], list[dict[str, Any]]]:
    import polars as pl

    def page(q: Query) -> list[dict[str, Any]]:
        return list(polars_page(pl.scan_parquet(path), q).collect().to_dicts())

    return page


def measure(name: str, page: Callable[[Query], list[dict[str, Any]]], qs: list[Query], seconds: float) -> None:
    reference = [page(q) for q in qs]  # warm, and each query answers something
    assert all(reference), name
    single: list[float] = []
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline:
        start = time.perf_counter()
        page(qs[n % len(qs)])
        single.append(time.perf_counter() - start)
        n += 1
    done = [0] * 8
    stop = time.monotonic() + seconds

    def worker(k: int) -> None:
        while time.monotonic() < stop:
            page(qs[(done[k] + k) % len(qs)])
            done[k] += 1

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    q = statistics.quantiles(single, n=100)
    print(
        f"{name:28} p50 {q[49] * 1000:6.2f} ms  p95 {q[94] * 1000:6.2f} ms (1 thread)  "
        f"{sum(done) / seconds:6.0f} pages/s (8 threads)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=5)
    args = parser.parse_args()
    t = table(args.rows)
    qs = queries(t)
    path = Path(tempfile.mkdtemp(prefix="omtx-spike-")) / "rows.parquet"
    pq.write_table(t, path, compression="zstd")
    engines: list[tuple[str, Callable[[], Callable[[Query], list[dict[str, Any]]]]]] = [
        ("polars DataFrame, eager sort", lambda: polars_engine(t)),
        ("polars LazyFrame (top-k)", lambda: polars_engine(t, lazy=True)),
        ("polars + kept orders, masks", lambda: results_table_engine(t)),
        ("DuckDB in-memory table", lambda: duckdb_engine(t)),
        ("pyarrow compute", lambda: arrow_engine(t)),
        ("Parquet read per request", lambda: parquet_per_request(path)),
    ]
    print(f"{args.rows} rows, {PAGE}-row pages, queries: first page, deep keyset page, filtered, text search")
    for name, build in engines:
        try:
            page = build()
        except ImportError as exc:
            print(f"{name:30} skipped ({exc.name} is not installed)")
            continue
        measure(name, page, qs, args.seconds)


if __name__ == "__main__":
    main()
