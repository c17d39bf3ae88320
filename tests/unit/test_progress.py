from datetime import UTC, datetime, timedelta

from omtx.domain import Counts
from omtx.progress import crosses_milestone, estimate, milestone_thresholds, reached

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_eta_from_observed_throughput():
    p = estimate(Counts(total=100, succeeded=20, failed=5), T0, T0 + timedelta(seconds=10), finished=False)
    assert p.progress == 0.25 and p.jobs_per_s == 2.5 and p.eta_s == 30.0


def test_no_eta_before_the_first_result_and_zero_when_done():
    assert estimate(Counts(total=10), T0, T0 + timedelta(seconds=5), finished=False).eta_s is None
    assert estimate(Counts(total=10, succeeded=10), T0, T0 + timedelta(seconds=5), finished=True).eta_s == 0.0


def test_milestones():
    assert milestone_thresholds(12) == {10: 2, 25: 3, 50: 6, 75: 9, 90: 11, 100: 12}
    assert milestone_thresholds(1) == dict.fromkeys((10, 25, 50, 75, 90, 100), 1)
    assert reached(6, 12) == [10, 25, 50]
    assert crosses_milestone(5, 6, 12) and not crosses_milestone(6, 7, 12)
    assert crosses_milestone(0, 12, 12)  # a coalesced jump passes several at once
