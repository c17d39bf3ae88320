"""Modal executor: spawns the deployed worker for the order's model and records its call id."""

from __future__ import annotations

import logging
from typing import Any

import modal

from omtx.errors import TransientError
from omtx.predictors.registry import get_model
from omtx.worker import WorkOrder

log = logging.getLogger(__name__)


class ModalExecutor:
    name = "modal"

    def __init__(self, app_name: str) -> None:
        self._app_name = app_name

    def _target(self, model: str) -> Any:
        target = get_model(model).modal_target
        cls_name, _, method = target.partition(".")
        if method:
            return getattr(modal.Cls.from_name(self._app_name, cls_name)(), method)
        return modal.Function.from_name(self._app_name, target)

    def start_lease_s(self, deadline_s: float) -> float:
        # Modal queues and cold-starts a call (a GPU image may take many minutes) and nothing of
        # ours runs meanwhile to renew it: until its worker's first heartbeat, only the deadline
        # bounds it.
        return deadline_s

    def start(self, order: WorkOrder) -> str:
        target = get_model(order.model).modal_target
        try:
            call = self._target(order.model).spawn(order.model_dump_json())
        except modal.exception.Error as exc:
            raise TransientError(f"modal spawn of {self._app_name}.{target} failed: {exc}") from exc
        return str(call.object_id)

    def cancel(self, call_id: str) -> bool:
        try:
            # terminate_containers=False: a container may serve other inputs; Modal stops this one.
            modal.FunctionCall.from_id(call_id).cancel(terminate_containers=False)
        except modal.exception.Error as exc:  # unknown, expired or already finished calls
            log.warning("modal call %s not cancelled: %s", call_id, exc)
            return False
        return True
