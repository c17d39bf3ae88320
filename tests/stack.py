"""One local stack per test session, on its own ports and state folder, so a developer's running
`omtx dev up` stack is never touched. Registered in tests/conftest.py (not in a package's
conftest), so the integration and browser tests share the one stack."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from omtx.devstack.stack import Stack
from omtx.gcp.clients import reset_clients
from omtx.settings import Settings, get_settings

TEST_BASE_PORT = int(os.environ.get("OMTX_TEST_BASE_PORT", "18700"))


@pytest.fixture(scope="session")
def stack_env(tmp_path_factory) -> dict[str, str]:
    state = tmp_path_factory.mktemp("stack")
    # Batches above 40 ligands fan out in ranges of 20, so tests exercise both submit paths.
    return {
        "OMTX_BASE_PORT": str(TEST_BASE_PORT),
        "OMTX_STATE_DIR": str(state),
        "OMTX_FANOUT_FROM": "40",
        "OMTX_FANOUT_RANGE": "20",
        # rfantibody jobs run its CPU stand-in (no GPU tools here): see omtx/predictors/rfantibody/standin.py
        "OMTX_RFANTIBODY_STANDIN": "1",
    }


@pytest.fixture(scope="session")
def stack(stack_env) -> Iterator[Stack]:
    os.environ.update(stack_env)
    get_settings.cache_clear()
    running = Stack(Settings())
    seconds = running.up()
    print(f"\nlocal stack up in {seconds:.1f} s (base port {TEST_BASE_PORT})")
    yield running
    running.down(snapshot=False)  # its state folder is temporary


@pytest.fixture
def settings(stack, stack_env) -> Settings:
    # The autouse environ fixture restores os.environ after each test; re-apply the stack's.
    os.environ.update(stack_env | stack.settings.emulator_env())
    get_settings.cache_clear()
    reset_clients()
    return get_settings()
