"""Finished batches' tables, each loaded once per service instance from the batch's Parquet export
and kept in a least-recently-used cache bounded by bytes.

The key is (batch, revision): a retry of the failed jobs finalises the batch again under a new
revision, whose request loads the new export and drops the old table; a delete drops it too
(`forget`, and on any instance a deleted batch is a 404 before its table is looked up). The file
carries its batch and revision (aggregation writes them), so a file rewritten between reading the
batch and reading the file is never served under the wrong revision. A table also grows as it is
used (sort orders, filter masks, within fixed counts): the bound is checked on every request, so
it holds between requests, a request's own growth counted at the next."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping

from google.api_core import exceptions as gexc

from omtx.gcp import storage
from omtx.results.catalog import Kind
from omtx.results.table import ResultsTable, Unusable

log = logging.getLogger(__name__)

Key = tuple[str, int]
# What serving the first table adds to an API process once, whatever its size: polars' thread
# pool, allocator arenas and the code paths it loads. Measured on Linux: 44-46 MiB in one thread
# (the same after a 3,000-row table as after a 100,000-row one; an evicted table leaves under
# 5 MiB behind), about 66 MiB in an API worker serving from many threads.
ENGINE_BYTES = 72 * 2**20
_LIBC = ctypes.CDLL(ctypes.util.find_library("c") or None)
# A table's bytes per byte of its Parquet file, until a load has measured it (100,000 instant
# rows: 36 MiB of table from 9.6 MiB of zstd Parquet)
FIRST_RATIO = 4.0


class TableCache:
    def __init__(self, max_bytes: int, read: Callable[[str], bytes] = storage.get_bytes, engine_bytes: int = 0) -> None:
        """`engine_bytes`: what the first table adds to the process once, beyond its own size
        (ENGINE_BYTES), counted against the bound from then on."""
        self.max_bytes = max_bytes
        self.engine_bytes = engine_bytes
        self._read = read
        self._tables: OrderedDict[Key, ResultsTable] = OrderedDict()
        self._unusable: set[Key] = set()  # exports that cannot back a table: Firestore answers
        self._loading: dict[Key, threading.Lock] = {}
        self._lock = threading.Lock()
        self.loads = 0
        self.evictions = 0
        self._ratio = FIRST_RATIO  # the largest table-to-file ratio loaded yet

    def get(
        self, batch_id: str, revision: int, uri: str, declared: Mapping[str, Kind] | None = None
    ) -> ResultsTable | None:
        """The batch's table, loaded on first use; None when its export cannot back one."""
        key = (batch_id, revision)
        with self._lock:
            if (table := self._hit(key)) is not None or key in self._unusable:
                return table
            loading = self._loading.setdefault(key, threading.Lock())
        with loading:  # one load per key; the other requests for it wait for that one
            with self._lock:
                if (table := self._hit(key)) is not None or key in self._unusable:
                    return table
            table = self._load(batch_id, revision, uri, declared)
            with self._lock:
                self._loading.pop(key, None)
                for stale in [k for k in self._tables if k[0] == batch_id]:
                    del self._tables[stale]
                self.loads += 1
                if table is None:
                    self._unusable.add(key)
                elif table.nbytes + self.engine_bytes <= self.max_bytes:
                    self._tables[key] = table
                    self._trim()
                    used = self._used()
                    log.info("results cache: %d tables, %d of %d bytes", len(self._tables), used, self.max_bytes)
                else:
                    log.warning("results table of %s (%d bytes) is over the cache bound", batch_id, table.nbytes)
        _release_freed()
        return table

    def forget(self, batch_id: str) -> None:
        with self._lock:
            for key in [k for k in self._tables if k[0] == batch_id]:
                del self._tables[key]
            self._unusable = {k for k in self._unusable if k[0] != batch_id}

    @property
    def nbytes(self) -> int:
        """The bytes counted against the bound: the tables, and the engine once one has loaded."""
        with self._lock:
            return self._used()

    def _used(self) -> int:
        return sum(t.nbytes for t in self._tables.values()) + (self.engine_bytes if self.loads else 0)

    def stats(self) -> dict[str, int]:
        with self._lock:
            used = self._used()
            return {
                "tables": len(self._tables),
                "bytes": used,
                "max_bytes": self.max_bytes,
                "loads": self.loads,
                "evictions": self.evictions,
            }

    def _hit(self, key: Key) -> ResultsTable | None:
        table = self._tables.get(key)
        if table is not None:
            self._tables.move_to_end(key)
            self._trim()
        return table

    def _trim(self, reserve: int = 0) -> None:
        """Evict the least recently used tables until `reserve` more bytes fit under the bound."""
        used = sum(t.nbytes for t in self._tables.values()) + self.engine_bytes + reserve
        while used > self.max_bytes and self._tables:
            _, oldest = self._tables.popitem(last=False)
            used -= oldest.nbytes
            self.evictions += 1

    def _load(self, batch_id: str, revision: int, uri: str, declared: Mapping[str, Kind] | None) -> ResultsTable | None:
        try:
            data = self._read(uri)
            with self._lock:
                self._trim(reserve=int(len(data) * self._ratio))
            table = ResultsTable.from_parquet(data, declared)
        except (FileNotFoundError, gexc.NotFound):
            log.warning("results export of %s is missing: %s", batch_id, uri)
            return None
        except Unusable as exc:
            log.info("results export of %s served from Firestore: %s", batch_id, exc)
            return None
        with self._lock:
            self._ratio = max(self._ratio, table.nbytes / max(1, len(data)))
        if table.written != (batch_id, str(revision)):
            log.warning("results export %s holds %s, not %s revision %d", uri, table.written, batch_id, revision)
            return None
        log.info(
            "results table of %s revision %d loaded: %d rows, %d bytes",
            batch_id,
            revision,
            table.n,
            table.nbytes,
            extra={"batch_id": batch_id},
        )
        return table


def _release_freed() -> None:
    """Hand the memory a load freed (the downloaded file, the evicted tables' Python objects) back
    to the system: glibc keeps freed memory in each thread's arena, and the API serves from many
    threads, so without this a process's size grew past the cache's bound by what loads left."""
    trim = getattr(_LIBC, "malloc_trim", None)  # glibc only
    if trim is not None:
        trim(0)
