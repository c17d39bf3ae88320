"""Heartbeats: a thread that renews the leases of executor calls (omtx/gcp/firestore/leases.py)
while they wait or run, and learns that their batch was cancelled. The worker holds one for its
own call, the local executor one for the calls waiting in its process pool. All the calls a
heartbeat holds are renewed together: one read of their batches and one commit per beat.

A renewal that fails (Firestore unreachable for a moment) is logged and tried on the next beat:
a lease holds two beats, so one lost write lapses nothing, and the worker never stops for it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

from omtx.gcp.firestore.leases import CallKey, Renewal, renew
from omtx.settings import get_settings

log = logging.getLogger(__name__)
T = TypeVar("T")


class Heartbeat:
    def __init__(self, on_cancelled: Callable[[CallKey], None] | None = None, name: str = "omtx-heartbeat") -> None:
        settings = get_settings()
        self.interval_s = settings.heartbeat_s
        self.lease_s = settings.lease_s
        self._on_cancelled = on_cancelled
        self._held: dict[CallKey, Renewal] = {}  # what the next beat says of each call
        self._reported: set[CallKey] = set()  # calls that reported anything already
        self._cancelled: set[CallKey] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def hold(self, key: CallKey, *, started: bool = False) -> None:
        """Renew this call from the next beat on; `started`: the worker took it up."""
        with self._lock:
            self._held[key] = Renewal(key=key, started=started)

    def report(self, key: CallKey, job_ids: list[str]) -> None:
        """These jobs' job-done went out: said with the next beat."""
        with self._lock:
            renewal = self._held.get(key)
            if renewal is not None:
                renewal.reported.extend(job_ids)

    def release(self, key: CallKey, *, finished: bool = False) -> None:
        """Stop renewing the call; `finished`: one last renewal now says that the worker is done
        (the lease then runs out one period later, when the reconciler settles the call)."""
        with self._lock:
            renewal = self._held.pop(key, None)
        if renewal is not None and finished:
            renewal.finished = True
            self._send([renewal])
        with self._lock:
            self._reported.discard(key)
            self._cancelled.discard(key)

    def cancelled(self, key: CallKey) -> bool:
        with self._lock:
            return key in self._cancelled

    def beat(self) -> None:
        """Renew every held call now (the thread calls this every `heartbeat_s`)."""
        with self._lock:
            renewals = list(self._held.values())
            self._held = {r.key: Renewal(key=r.key) for r in renewals}
        self._send(renewals)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()

    def _send(self, renewals: list[Renewal]) -> None:
        if not renewals:
            return
        with self._lock:
            for renewal in renewals:
                if renewal.reported and renewal.key not in self._reported:
                    renewal.first_report = True
        try:
            cancelled = renew(renewals, self.lease_s)
        except Exception:
            log.warning("renewing %d call lease(s) failed; next beat tries again", len(renewals), exc_info=True)
            with self._lock:  # what it had to say goes with the next beat
                for renewal in renewals:
                    held = self._held.get(renewal.key)
                    if held is not None:
                        held.reported[:0] = renewal.reported
                        held.started |= renewal.started
            return
        with self._lock:
            self._reported |= {r.key for r in renewals if r.reported}
            new = cancelled - self._cancelled
            self._cancelled |= cancelled
        for key in new:
            log.info("batch %s was cancelled: call %s stops", key.batch_id, key.call_id)
            if self._on_cancelled is not None:
                self._on_cancelled(key)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.beat()


class CallLease:
    """A worker's hold on its own call: renewed while it runs, marked started by a first renewal
    before any ligand (which also says whether the batch was cancelled while the call waited),
    and finished by a last one."""

    def __init__(self, batch_id: str, call_id: str) -> None:
        self.key = CallKey(batch_id, call_id)
        self._heartbeat = Heartbeat()
        self._heartbeat.hold(self.key, started=True)
        self._heartbeat.beat()

    def report(self, job_ids: list[str]) -> None:
        self._heartbeat.report(self.key, job_ids)

    def cancelled(self) -> bool:
        return self._heartbeat.cancelled(self.key)

    def close(self, *, finished: bool) -> None:
        self._heartbeat.release(self.key, finished=finished)
        self._heartbeat.close()


def until_cancelled(items: Iterator[T], cancelled: Callable[[], bool], batch_id: str) -> Iterator[T]:
    """A call's outcomes until its batch is cancelled: checked before each ligand starts and
    before a finished one is handed on (to be stored), so the call stops at its next ligand and
    stores nothing more."""
    try:
        while not cancelled():
            item = next(items, None)
            if item is None or cancelled():
                break
            yield item
        if cancelled():
            log.info("batch %s was cancelled: this call stops", batch_id)
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            close()  # a chunk model's generator stops its tool
