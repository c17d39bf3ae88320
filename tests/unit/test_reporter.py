import time
from concurrent.futures import Future

import pytest

from omtx.events import JobDone
from omtx.worker import Reporter


@pytest.fixture
def published(monkeypatch):
    sent: list[list[str]] = []

    def publish(topic, events):
        for event in events:
            sent.append([r.job_id for r in event.results])
        return ["id"] * len(events)

    monkeypatch.setattr("omtx.gcp.pubsub.publish", publish)
    return sent


def done(job_id: str) -> Future:
    future: Future = Future()
    future.set_result(JobDone(batch_id="b1", job_id=job_id, status="succeeded"))
    return future


def test_reports_arriving_together_share_messages(published):
    reporter = Reporter("b1")
    for i in range(60):
        reporter.add(done(f"j{i}"))
        time.sleep(0.01)
    reporter.close()
    assert sorted(j for group in published for j in group) == sorted(f"j{i}" for i in range(60))
    assert len(published) <= 6  # ~0.6 s of reports in 0.2 s windows, not one message per report


def test_a_slow_models_report_is_not_held_back(published):
    reporter = Reporter("b1")
    reporter.add(done("j0"))
    time.sleep(Reporter.FLUSH_S * 3)
    assert published == [["j0"]]
    reporter.close()


def test_a_failed_publish_is_retried_then_surfaced(monkeypatch):
    calls = []

    def failing(topic, events):
        calls.append(1)
        raise RuntimeError("pubsub down")

    monkeypatch.setattr("omtx.gcp.pubsub.publish", failing)
    monkeypatch.setattr("omtx.worker.time.sleep", lambda s: None)
    reporter = Reporter("b1")
    reporter.add(done("j0"))
    with pytest.raises(RuntimeError, match="pubsub down"):
        reporter.close()
    assert len(calls) == Reporter.PUBLISH_ATTEMPTS
