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
