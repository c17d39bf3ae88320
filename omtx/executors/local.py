"""Local executor: the worker function in a pool of local processes, bounded concurrency.

Cancelling is best effort and reaches only this process's pool: a call still waiting for a
worker process is dropped; one already running finishes (a process pool cannot stop one task).
In the local stack calls start in the dispatch service while cancel runs in the API, so there
it stops nothing and the running calls' reports are discarded (their jobs are cancelled)."""

from __future__ import annotations

import logging
import multiprocessing
import threading
import uuid
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from omtx.worker import WorkOrder, run_work_order_json

log = logging.getLogger(__name__)


class LocalExecutor:
    name = "local"

    def __init__(self, max_workers: int) -> None:
        self._max_workers = max_workers
        self._pool = self._new_pool()
        self._calls: dict[str, Future[int]] = {}  # calls not finished yet, for cancel
        self._lock = threading.Lock()

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn, not fork: the parent holds gRPC channels and threads that must not be forked.
        return ProcessPoolExecutor(max_workers=self._max_workers, mp_context=multiprocessing.get_context("spawn"))

    def start(self, order: WorkOrder) -> str:
        call_id = order.call_id or f"local-{uuid.uuid4().hex[:16]}"
        payload = order.model_copy(update={"call_id": call_id}).model_dump_json()
        with self._lock:
            try:
                future = self._pool.submit(run_work_order_json, payload)
            except BrokenProcessPool:
                # A worker process died (killed, out of memory): the pool refuses all work from
                # then on. The calls it held failed (their deadline brings their jobs back);
                # new calls go to a new pool.
                log.warning("a local worker process died; starting a new process pool")
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = self._new_pool()
                future = self._pool.submit(run_work_order_json, payload)
            self._calls[call_id] = future
        future.add_done_callback(lambda f: self._report(call_id, f))
        return call_id

    def cancel(self, call_id: str) -> bool:
        with self._lock:
            future = self._calls.get(call_id)
        return future is not None and future.cancel()

    def _report(self, call_id: str, future: Future[int]) -> None:
        with self._lock:
            self._calls.pop(call_id, None)
        if future.cancelled():
            log.info("local call %s cancelled before it started", call_id)
            return
        exc = future.exception()
        if exc is not None:
            # The jobs stay dispatched; their deadline brings them back (reconciler).
            log.error("local call %s crashed: %r", call_id, exc)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)
