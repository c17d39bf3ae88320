"""Where work runs: the same work orders, on Modal in the cloud or local processes in dev/CI."""

from __future__ import annotations

from functools import cache

from omtx.executors.base import Executor
from omtx.settings import get_settings


@cache
def get_executor() -> Executor:
    kind = get_settings().executor
    if kind == "modal":
        from omtx.executors.modal_executor import ModalExecutor

        return ModalExecutor(get_settings().modal_app)
    from omtx.executors.local import LocalExecutor

    return LocalExecutor(get_settings().local_workers)
