"""Rate-limit windows and tier figures: pure arithmetic over the settings.

Rate limiting is a fixed one-minute window per key, counted in Firestore with an atomic
Increment whose result comes back in the same write: exact under any concurrency across Cloud
Run instances, one write per request, no transaction. The price of a fixed window is that a
key may spend two windows' worth in the two seconds around a boundary."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from omtx.settings import Settings
from omtx.tenancy.keys import Tier

WINDOW_S = 60


def window(now_s: float) -> tuple[int, int]:
    """The window `now_s` (Unix seconds) falls in, and the whole seconds until it ends (≥ 1),
    which is what a refused caller is told to wait (Retry-After)."""
    index = math.floor(now_s / WINDOW_S)
    left = (index + 1) * WINDOW_S - now_s
    return index, max(1, math.ceil(left))


def expiry(index: int) -> datetime:
    """When a window's counter may be deleted (a TTL policy on `expire_at`): a minute after it ends."""
    return datetime.fromtimestamp((index + 1) * WINDOW_S, tz=UTC) + timedelta(minutes=1)


def requests_per_window(settings: Settings, tier: Tier) -> int:
    return {
        Tier.FREE: settings.rate_free_per_min,
        Tier.PRO: settings.rate_pro_per_min,
        Tier.ADMIN: settings.rate_admin_per_min,
    }[tier]


def default_budget_gpu_s(settings: Settings, tier: Tier) -> float:
    return {
        Tier.FREE: settings.budget_free_gpu_s,
        Tier.PRO: settings.budget_pro_gpu_s,
        Tier.ADMIN: settings.budget_admin_gpu_s,
    }[tier]


def over_budget(budget_gpu_s: float, spent_gpu_s: float, cost_gpu_s: float) -> bool:
    # A small tolerance: spent is a sum of floats.
    return spent_gpu_s + cost_gpu_s > budget_gpu_s + 1e-6
