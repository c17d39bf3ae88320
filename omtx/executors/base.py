"""The executor interface."""

from __future__ import annotations

from typing import Protocol

from omtx.worker import WorkOrder


class Executor(Protocol):
    name: str

    def start_lease_s(self, deadline_s: float) -> float:
        """The lease a call gets at dispatch, before anything renews it: how long the executor
        may hold a call without a word before the reconciler takes its jobs back."""
        ...

    def start(self, order: WorkOrder) -> str:
        """Start the work without waiting for it; returns the executor's id for the call
        (the order's own call_id where the executor has no naming of its own)."""
        ...

    def cancel(self, call_id: str) -> bool:
        """Stop a call started by `start` (its returned id), best effort: True if the executor
        stopped it or will not run it, False if it cannot (gone, finished, out of reach). Its
        jobs are already cancelled in Firestore either way, so whatever it still reports is
        discarded; this only saves the compute."""
        ...
