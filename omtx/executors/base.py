"""The executor interface."""

from __future__ import annotations

from typing import Protocol

from omtx.worker import WorkOrder


class Executor(Protocol):
    name: str

    def start(self, order: WorkOrder) -> str:
        """Start the work without waiting for it; returns the executor's id for the call
        (the order's own call_id where the executor has no naming of its own)."""
        ...
