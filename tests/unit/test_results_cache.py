"""The finished batches' tables: one load per (batch, revision), a bound in bytes that evicts the
least recently used, a new revision or a delete drops the old table, and an export that cannot
back a table (another revision, an older export) leaves the answer to Firestore."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq

from omtx.aggregation import Spool
from omtx.domain import Job, JobStatus
from omtx.results.cache import TableCache


def export(batch_id: str, revision: int, n: int, tmp: Path) -> bytes:
    jobs = [
        Job(
            job_id=f"{i:016x}",
            batch_id=batch_id,
            index=i,
            shard=0,
            ligand_name=f"L{i}",
            smiles="CCO",
            canonical_smiles="CCO",
            inchikey="LFQSCWFLJHTTHZ-UHFFFAOYSA-N",
            input_hash="h",
            status=JobStatus.SUCCEEDED,
            metrics={"score": i / n},
        )
        for i in range(n)
    ]
    spool = Spool(tmp / f"{batch_id}-{revision}.jsonl").fill(jobs)
    path = tmp / f"{batch_id}-{revision}.parquet"
    spool.export({"batch_id": batch_id, "revision": revision}, io.StringIO(), io.StringIO(), io.StringIO(), path)
    return path.read_bytes()


class Store:
    """Exports by URI, counting reads (stands in for the bucket: the cache takes a reader)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.reads = 0

    def read(self, uri: str) -> bytes:
        self.reads += 1
        time.sleep(0.01)
        if uri not in self.files:
            raise FileNotFoundError(uri)
        return self.files[uri]


def test_each_table_is_loaded_once_and_the_bound_evicts_the_least_recent(tmp_path: Path) -> None:
    store = Store()
    for b in ("b1", "b2", "b3"):
        store.files[b] = export(b, 0, 2000, tmp_path)
    one = TableCache(10**9, store.read).get("b1", 0, "b1")
    assert one is not None
    size = one.nbytes
    cache = TableCache(int(size * 2.5), store.read)
    store.reads = 0
    threads = [threading.Thread(target=cache.get, args=("b1", 0, "b1")) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.reads == 1, "concurrent first requests share one load"
    cache.get("b2", 0, "b2")
    cache.get("b1", 0, "b1")  # b1 is now the most recent
    cache.get("b3", 0, "b3")  # over the bound: b2 goes
    assert cache.stats()["tables"] == 2 and cache.nbytes <= cache.max_bytes
    reads = store.reads
    cache.get("b1", 0, "b1")
    assert store.reads == reads
    cache.get("b2", 0, "b2")
    assert store.reads == reads + 1 and cache.stats()["evictions"] >= 2


def test_a_new_revision_and_a_delete_drop_the_table(tmp_path: Path) -> None:
    store = Store()
    store.files["u"] = export("b1", 0, 10, tmp_path)
    cache = TableCache(10**9, store.read)
    assert cache.get("b1", 0, "u") is not None
    assert cache.get("b1", 1, "u") is None, "the file holds revision 0: Firestore answers"
    store.files["u"] = export("b1", 1, 12, tmp_path)
    cache.forget("b1")
    table = cache.get("b1", 1, "u")
    assert table is not None and table.n == 12 and cache.stats()["tables"] == 1
    cache.forget("b1")
    assert cache.stats()["tables"] == 0


def test_an_export_that_cannot_back_a_table_is_left_to_firestore(tmp_path: Path) -> None:
    store = Store()
    old = pq.read_table(io.BytesIO(export("b1", 0, 5, tmp_path))).drop_columns(["attempts"])
    sink = io.BytesIO()
    pq.write_table(old, sink)  # an export written before the column existed
    store.files["old"] = sink.getvalue()
    cache = TableCache(10**9, store.read)
    assert cache.get("b1", 0, "old") is None
    assert cache.get("b1", 0, "old") is None and store.reads == 1, "not read again"
    assert cache.get("b2", 0, "missing") is None


def test_room_is_made_before_a_table_loads(tmp_path: Path, monkeypatch) -> None:
    """The tables a new one displaces are evicted before it is parsed, so their memory and the new
    table's are never held at once past the bound."""
    from omtx.results import cache as cache_module

    store = Store()
    for b in ("b1", "b2", "b3"):
        store.files[b] = export(b, 0, 2000, tmp_path)
    cache = TableCache(10**9, store.read)
    size = cache.get("b1", 0, "b1").nbytes  # type: ignore[union-attr]
    cache.max_bytes = int(size * 2.5)
    cache.get("b2", 0, "b2")
    held_while_parsing = []
    parse = cache_module.ResultsTable.from_parquet

    def watched(data: bytes, declared: object = None) -> object:
        held_while_parsing.append(sum(t.nbytes for t in cache._tables.values()))
        return parse(data, declared)  # type: ignore[arg-type]

    monkeypatch.setattr(cache_module.ResultsTable, "from_parquet", watched)
    cache.get("b3", 0, "b3")
    assert held_while_parsing == [size], "b1, the least recent, went before b3 was parsed"
    assert cache.nbytes <= cache.max_bytes and cache.stats()["tables"] == 2


def test_the_engines_one_time_cost_is_counted_once_a_table_has_loaded(tmp_path: Path) -> None:
    store = Store()
    for b in ("b1", "b2"):
        store.files[b] = export(b, 0, 2000, tmp_path)
    size = TableCache(10**9, store.read).get("b1", 0, "b1").nbytes  # type: ignore[union-attr]
    engine = size // 2
    cache = TableCache(int(size * 2.2), store.read, engine_bytes=engine)
    assert cache.nbytes == 0, "nothing loaded: no engine"
    cache.get("b1", 0, "b1")
    assert cache.nbytes == size + engine
    cache.get("b2", 0, "b2")  # two tables and the engine are over the bound: b1 goes
    assert cache.stats()["tables"] == 1 and cache.nbytes == size + engine <= cache.max_bytes
    too_small = TableCache(size + engine - 1, store.read, engine_bytes=engine)
    assert too_small.get("b1", 0, "b1") is not None and too_small.stats()["tables"] == 0
