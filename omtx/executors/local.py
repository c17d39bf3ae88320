"""Local executor: the worker function in a pool of local processes, bounded concurrency.

The calls waiting in the pool hold their leases through this process's heartbeat (a worker
renews its own once it runs), so a dead dispatch service, or a dead worker process (the pool
then fails every call it held), lapses them within a lease and the reconciler takes their jobs
back. The heartbeat also learns that a batch was cancelled: its calls still waiting are dropped.

Cancelling from elsewhere is best effort and reaches only this process's pool: a call still
waiting for a worker process is dropped; one already running stops at its next ligand, told by its
own heartbeat. In the local stack calls start in the dispatch service while cancel runs in the
API, so there the heartbeats do the stopping."""

from __future__ import annotations

import logging
import multiprocessing
import threading
import uuid
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from omtx.gcp.firestore.leases import CallKey, give_up
from omtx.heartbeat import Heartbeat
from omtx.settings import get_settings
from omtx.worker import WorkOrder, run_work_order_json

log = logging.getLogger(__name__)


class LocalExecutor:
    name = "local"

    def __init__(self, max_workers: int) -> None:
        self._max_workers = max_workers
        self._pool = self._new_pool()
        self._calls: dict[str, tuple[CallKey, Future[int]]] = {}  # calls not finished yet
        self._lock = threading.Lock()
        self._heartbeat = Heartbeat(on_cancelled=self._drop, name="omtx-executor-heartbeat")

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn, not fork: the parent holds gRPC channels and threads that must not be forked.
        return ProcessPoolExecutor(max_workers=self._max_workers, mp_context=multiprocessing.get_context("spawn"))

    def start_lease_s(self, deadline_s: float) -> float:
        return get_settings().lease_s  # renewed from now on by this process's heartbeat

    def start(self, order: WorkOrder) -> str:
        call_id = order.call_id or f"local-{uuid.uuid4().hex[:16]}"
        payload = order.model_copy(update={"call_id": call_id}).model_dump_json()
        key = CallKey(order.batch_id, call_id)
        self._heartbeat.hold(key)  # before it can finish, so its release comes after
        try:
            with self._lock:
                future = self._submit(payload)
                self._calls[call_id] = (key, future)
        except BaseException:
            self._heartbeat.release(key)
            raise
        future.add_done_callback(lambda f: self._report(call_id, f))
        return call_id

    def _submit(self, payload: str) -> Future[int]:
        try:
            return self._pool.submit(run_work_order_json, payload)
        except BrokenProcessPool:
            # A worker process died (killed, out of memory): the pool refuses all work from then
            # on. The calls it held failed (their leases lapse and the reconciler takes their jobs
            # back); new calls go to a new pool.
            log.warning("a local worker process died; starting a new process pool")
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
            return self._pool.submit(run_work_order_json, payload)

    def cancel(self, call_id: str) -> bool:
        with self._lock:
            found = self._calls.get(call_id)
        return found is not None and found[1].cancel()

    def _drop(self, key: CallKey) -> None:
        """The heartbeat found the call's batch cancelled: a call still waiting never starts."""
        if self.cancel(key.call_id):
            log.info("local call %s of cancelled batch %s dropped before it started", key.call_id, key.batch_id)

    def _report(self, call_id: str, future: Future[int]) -> None:
        with self._lock:
            key, _ = self._calls.pop(call_id, (None, None))
        if key is not None:
            self._heartbeat.release(key)
        if future.cancelled():
            log.info("local call %s cancelled before it started", call_id)
            return
        exc = future.exception()
        if exc is not None:
            # Its worker process died (the pool then stops them all): the lease lapses at once
            # and the reconciler's next pass takes its jobs back.
            log.error("local call %s crashed: %r", call_id, exc)
            if key is not None:
                try:
                    give_up(key)
                except Exception:  # unreachable Firestore: the lease lapses on its own
                    log.warning("could not give up the lease of call %s", call_id, exc_info=True)

    def shutdown(self) -> None:
        self._heartbeat.close()
        self._pool.shutdown(wait=True, cancel_futures=False)
