"""Modal executor: spawns the deployed worker for the order's model and records its call id."""

from __future__ import annotations

from typing import Any

import modal

from omtx.errors import TransientError
from omtx.predictors.registry import get_model
from omtx.worker import WorkOrder


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

    def start(self, order: WorkOrder) -> str:
        target = get_model(order.model).modal_target
        try:
            call = self._target(order.model).spawn(order.model_dump_json())
        except modal.exception.Error as exc:
            raise TransientError(f"modal spawn of {self._app_name}.{target} failed: {exc}") from exc
        return str(call.object_id)
