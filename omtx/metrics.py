"""Process-local operation counters (Firestore writes, GCS writes, messages published).

Benchmarks count real operations rather than estimate them: with OMTX_STATS_DIR set, each
process writes its counters to `<dir>/<pid>.json` twice a second and at exit."""

from __future__ import annotations

import atexit
import json
import os
import threading
from collections import Counter
from pathlib import Path

_counts: Counter[str] = Counter()
_lock = threading.Lock()
_writer_started = False


def count(name: str, n: int = 1) -> None:
    global _writer_started
    with _lock:
        _counts[name] += n
        if not _writer_started and os.environ.get("OMTX_STATS_DIR"):
            _writer_started = True
            threading.Thread(target=_write_forever, name="omtx-stats", daemon=True).start()
            atexit.register(_write)


def snapshot() -> dict[str, int]:
    with _lock:
        return dict(_counts)


def _write() -> None:
    directory = os.environ.get("OMTX_STATS_DIR")
    if not directory:
        return
    path = Path(directory) / f"{os.getpid()}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(snapshot()))
    tmp.replace(path)


def _write_forever() -> None:
    stop = threading.Event()
    while not stop.wait(0.5):
        _write()


def collect(directory: Path) -> dict[str, int]:
    """Sum the counters every process wrote into `directory`."""
    total: Counter[str] = Counter()
    for path in directory.glob("*.json"):
        total.update(json.loads(path.read_text()))
    return dict(total)
