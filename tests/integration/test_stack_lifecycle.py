"""`dev up` is idempotent, heals only what is dead, `dev down` leaves no process and no listening port
behind, and `dev down` / `dev up` loses nothing: earlier batches, their files, a batch half done."""

import pytest

from omtx.devstack import processes
from omtx.devstack.stack import Stack
from omtx.settings import Settings
from tests.integration.conftest import TEST_BASE_PORT

pytestmark = pytest.mark.integration


def test_up_twice_then_down_leaves_nothing(tmp_path, stack):
    # A second stack on its own ports and folder, beside the session's stack.
    own = Stack(Settings(base_port=TEST_BASE_PORT + 100, state_dir=tmp_path))
    try:
        first = own.up()
        assert 0 < first < 60
        assert own.up() == 0.0  # already up: reused, not restarted
        rows = own.status()
        assert len(rows) == 8 and all(r.alive and r.listening for r in rows)
        pids = [r.pid for r in rows]
        ports = [r.port for r in rows]
    finally:
        stopped = own.down()
    assert len(stopped) == 8
    assert not any(processes.alive(pid) for pid in pids)
    assert not any(processes.port_open("127.0.0.1", port) for port in ports if port)
    assert own.status() and not any(r.alive or r.listening for r in own.status())
    assert own.down() == []  # nothing left to stop


def test_a_busy_port_is_a_clear_error(tmp_path, stack):
    clash = Stack(Settings(base_port=TEST_BASE_PORT, state_dir=tmp_path))
    with pytest.raises(Exception, match="ports already in use"):
        clash.up()


@pytest.mark.timeout(600)
def test_up_restarts_only_the_dead_and_down_up_keeps_every_batch(tmp_path, stack):
    import requests

    from tests.integration.conftest import wait_for
    from tests.integration.helpers import batch_request

    own = Stack(Settings(base_port=TEST_BASE_PORT + 100, state_dir=tmp_path))
    api = own.settings.api_base_url
    try:
        own.up()
        accepted = requests.post(f"{api}/v1/batches", json=batch_request(6, cache=False), timeout=60).json()
        batch = accepted["batch_id"]

        def final():
            body = requests.get(f"{api}/v1/batches/{batch}", timeout=10).json()
            return body if body["status"] == "completed" and "batch_results.csv" in body["links"] else None

        wait_for(final, timeout_s=120)
        before = {r.name: r.pid for r in own.status()}
        own.kill("complete")
        assert own.up() > 0
        after = {r.name: r.pid for r in own.status()}
        assert after["complete"] != before["complete"]
        assert {n: p for n, p in after.items() if n != "complete"} == {
            n: p for n, p in before.items() if n != "complete"
        }
        csv_before = requests.get(f"{api}/v1/batches/{batch}/exports/batch_results.csv", timeout=30).content
        job = requests.get(f"{api}/v1/batches/{batch}/results", timeout=30).json()["jobs"][0]
        file_url = f"{api}/v1/batches/{batch}/jobs/{job['job_id']}/files/structure.sdf"
        sdf_before = requests.get(file_url, timeout=30).content

        # A 300-job batch stopped half done, workers and messages in flight and all.
        half = requests.post(f"{api}/v1/batches", json=batch_request(300, cache=False), timeout=60).json()["batch_id"]

        def done():
            return requests.get(f"{api}/v1/batches/{half}", timeout=10).json()["done"]

        wait_for(lambda: done() >= 30, timeout_s=120, interval_s=0.2)
        own.down()
        own.up()
        listed = requests.get(f"{api}/v1/batches", timeout=30).json()["batches"]
        assert {batch, half} <= {b["batch_id"] for b in listed}
        assert final()["succeeded"] == 6
        assert requests.get(f"{api}/v1/batches/{batch}/exports/batch_results.csv", timeout=30).content == csv_before
        assert requests.get(file_url, timeout=30).content == sdf_before
        assert done() < 300, "the batch finished before the stack stopped: nothing was in flight"

        def finished():
            body = requests.get(f"{api}/v1/batches/{half}", timeout=10).json()
            return body if body["status"] in ("completed", "completed_with_failures") else None

        # Re-driven by the reconciler from what Firestore and the bucket kept: the jobs whose
        # worker stored results are recorded from them, the others run again.
        ended = wait_for(finished, timeout_s=240, interval_s=1)
        assert (ended["status"], ended["succeeded"], ended["failed"], ended["total"]) == ("completed", 300, 0, 300)
        page = requests.get(f"{api}/v1/batches/{half}/results?status=succeeded&limit=300", timeout=60).json()
        assert len(page["jobs"]) == 300 and page["next_cursor"] is None
        # the stack still works after coming back: topics and subscriptions were provisioned again
        again = requests.post(f"{api}/v1/batches", json=batch_request(3, cache=False), timeout=60).json()
        batch = again["batch_id"]
        wait_for(final, timeout_s=120)

        own.reset()
        own.up()
        assert requests.get(f"{api}/v1/batches", timeout=30).json()["batches"] == []
    finally:
        own.down(snapshot=False)
