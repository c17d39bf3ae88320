"""The operator status: admin tier only, and dead-letter counts read from Cloud Monitoring."""

import json
from pathlib import Path

import pytest

from omtx.api.access import require_operator
from omtx.gcp.dlq_counts import monitoring_counts
from omtx.tenancy.errors import Forbidden
from omtx.tenancy.keys import Principal, Tier

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "monitoring" / "num_undelivered_messages.json"


def test_only_admin_keys_are_operators():
    require_operator(Principal(tenant="ops", tier=Tier.ADMIN, key_id="a" * 12))
    for tier in (Tier.FREE, Tier.PRO):
        with pytest.raises(Forbidden, match="operators only"):
            require_operator(Principal(tenant="t", tier=tier, key_id="b" * 12))


def test_monitoring_counts_take_each_queue_s_newest_point_and_only_the_queues():
    series = json.loads(FIXTURE.read_text())
    queues = ["complete-job-done-dead-letter", "dispatch-submitted-dead-letter"]
    counts = monitoring_counts(queues, series)
    assert counts.source == "monitoring"
    # Newest first in Monitoring's answer; a queue with no point in the window holds nothing.
    assert counts.counts == {"complete-job-done-dead-letter": 7, "dispatch-submitted-dead-letter": 0}
