"""Local executor: the worker function in a pool of local processes, bounded concurrency."""

from __future__ import annotations

import logging
import multiprocessing
import uuid
from concurrent.futures import Future, ProcessPoolExecutor

from omtx.worker import WorkOrder, run_work_order_json

log = logging.getLogger(__name__)


class LocalExecutor:
    name = "local"

    def __init__(self, max_workers: int) -> None:
        # spawn, not fork: the parent holds gRPC channels and threads that must not be forked.
        self._pool = ProcessPoolExecutor(max_workers=max_workers, mp_context=multiprocessing.get_context("spawn"))

    def start(self, order: WorkOrder) -> str:
        call_id = order.call_id or f"local-{uuid.uuid4().hex[:16]}"
        future = self._pool.submit(run_work_order_json, order.model_copy(update={"call_id": call_id}).model_dump_json())
        future.add_done_callback(lambda f: self._report(call_id, f))
        return call_id

    @staticmethod
    def _report(call_id: str, future: Future[int]) -> None:
        exc = future.exception()
        if exc is not None:
            # The jobs stay dispatched; their deadline brings them back (reconciler).
            log.error("local call %s crashed: %r", call_id, exc)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)
