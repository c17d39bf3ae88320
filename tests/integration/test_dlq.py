"""Dead letters for real: a `job-done` report pushed while `complete` is down fails every attempt
of the retry policy and lands on the dead-letter topic. `omtx dlq list` shows it and leaves it
there; once the service is back, `omtx dlq replay` sends it to `job-done` again, it is counted, and
it is gone from the queue."""

import json

import pytest
from typer.testing import CliRunner

from omtx.cli.main import app
from omtx.domain import BatchStatus
from omtx.events import JobDone
from omtx.gcp import pubsub
from omtx.gcp.firestore import batches as batch_store
from tests.integration.conftest import wait_for
from tests.integration.helpers import seed_batch

pytestmark = pytest.mark.integration
runner = CliRunner()


def omtx(*args: str) -> dict | list:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def listed(batch_id: str) -> list[dict]:
    return [m for m in omtx("dlq", "list", "--topic", "job-done") if m["batch_id"] == batch_id]


def test_dead_letters_are_listed_without_loss_and_replayed_once_the_cause_is_fixed(settings, stack):
    batch, (job,) = seed_batch(1)
    report = JobDone(batch_id=batch.batch_id, job_id=job.job_id, status="succeeded", shard=job.shard)
    stack.kill("complete")
    try:
        # One message: the emulator (0.8.20) stops retrying some of several messages that fail
        # together, so they would neither arrive nor dead-letter.
        pubsub.publish(settings.topic_job_done, [report])
        # 5 failed pushes with the stack's backoff (1 s doubling): about 15 s
        (letter,) = wait_for(lambda: listed(batch.batch_id), 120, 1.0)
    finally:
        stack.restart("complete")

    assert letter["attributes"]["job_id"] == job.job_id
    assert (letter["source_topic"], letter["source_subscription"]) == ("job-done", "complete-job-done")
    assert (letter["event_type"], letter["delivery_attempts"]) == ("job.done", settings.max_delivery_attempts)
    assert letter["published_at"] <= letter["dead_lettered_at"] and job.job_id in letter["body"]
    # Listing consumed nothing, and other topics' queues do not show it.
    assert [m["message_id"] for m in listed(batch.batch_id)] == [letter["message_id"]]
    assert not [m for m in omtx("dlq", "list", "--topic", "submitted") if m["batch_id"] == batch.batch_id]
    assert batch_store.get_counts(batch.batch_id, 1).done == 0

    outcome = omtx("dlq", "replay", "--topic", "job-done", "--id", letter["message_id"])
    assert outcome["not_found"] == [] and len(outcome["replayed"]) == 1
    replayed = outcome["replayed"][0]
    assert replayed["message_id"] == letter["message_id"] and replayed["new_message_id"] and not replayed["error"]
    done = wait_for(lambda: (b := batch_store.get_batch(batch.batch_id)) and b.status.is_final and b, 30)
    assert done.status == BatchStatus.COMPLETED
    assert batch_store.get_counts(batch.batch_id, 1).succeeded == 1
    assert listed(batch.batch_id) == []  # acknowledged once the copy was published


def test_replay_says_what_it_could_not_find(settings):
    result = runner.invoke(app, ["dlq", "replay", "--id", "no-such-message", "--json"])
    assert result.exit_code == 1
    assert json.loads(result.output) == {"replayed": [], "not_found": ["no-such-message"]}
    assert runner.invoke(app, ["dlq", "replay"]).exit_code != 0  # neither --id nor --all
