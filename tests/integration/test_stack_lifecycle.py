"""`dev up` is idempotent and `dev down` leaves no process and no listening port behind."""

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

        own.down()
        own.up()
        listed = requests.get(f"{api}/v1/batches", timeout=30).json()["batches"]
        assert batch in [b["batch_id"] for b in listed]
        assert final()["succeeded"] == 6
        assert requests.get(f"{api}/v1/batches/{batch}/exports/batch_results.csv", timeout=30).content == csv_before
        # the stack still works after coming back: topics and subscriptions were provisioned again
        again = requests.post(f"{api}/v1/batches", json=batch_request(3, cache=False), timeout=60).json()
        batch = again["batch_id"]
        wait_for(final, timeout_s=120)

        own.reset()
        own.up()
        assert requests.get(f"{api}/v1/batches", timeout=30).json()["batches"] == []
    finally:
        own.down(snapshot=False)
