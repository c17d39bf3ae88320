"""Modal executor: spawns the deployed worker function and records its call id."""

from __future__ import annotations

import modal

from omtx.errors import TransientError
from omtx.worker import WorkOrder

WORKER_FUNCTION = "run_cpu_work_order"


class ModalExecutor:
    name = "modal"

    def __init__(self, app_name: str) -> None:
        self._app_name = app_name

    def start(self, order: WorkOrder) -> str:
        function = modal.Function.from_name(self._app_name, WORKER_FUNCTION)
        try:
            call = function.spawn(order.model_dump_json())
        except modal.exception.Error as exc:
            raise TransientError(f"modal spawn of {self._app_name}.{WORKER_FUNCTION} failed: {exc}") from exc
        return str(call.object_id)
