"""The executor interface."""

from __future__ import annotations

from typing import Protocol

from omtx.worker import WorkOrder


class Executor(Protocol):
    name: str

    def start(self, order: WorkOrder) -> str:
        """Start the work without waiting for it; returns a call id to record on the jobs."""
        ...
