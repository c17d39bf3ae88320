"""Progress, throughput and ETA of a running batch, from its counters and start time."""

from __future__ import annotations

import math
from datetime import datetime

from pydantic import BaseModel

from omtx.domain import MILESTONES, Counts


class Progress(BaseModel):
    progress: float
    jobs_per_s: float | None
    eta_s: float | None


def estimate(counts: Counts, started_at: datetime | None, now: datetime, finished: bool) -> Progress:
    fraction = counts.done / counts.total if counts.total else 1.0
    if started_at is None or counts.done == 0:
        return Progress(progress=round(fraction, 4), jobs_per_s=None, eta_s=None)
    elapsed = max((now - started_at).total_seconds(), 1e-3)
    rate = counts.done / elapsed
    eta = 0.0 if finished or counts.complete else (counts.total - counts.done) / rate
    return Progress(progress=round(fraction, 4), jobs_per_s=round(rate, 3), eta_s=round(eta, 1))


def milestone_thresholds(total: int) -> dict[int, int]:
    """Jobs done at which each milestone percentage is reached."""
    return {p: max(1, math.ceil(p * total / 100)) for p in MILESTONES}


def reached(done: int, total: int) -> list[int]:
    return [p for p, need in milestone_thresholds(total).items() if done >= need]


def crosses_milestone(old_done: int, new_done: int, expected: int) -> bool:
    """Whether a shard moving from old_done to new_done passed one of its own milestone marks;
    shards fill at about the same pace, so this is when the batch may have passed one too."""
    return any(old_done < need <= new_done for need in milestone_thresholds(expected).values())
