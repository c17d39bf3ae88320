import os

import pytest

from omtx.settings import get_settings
from tests.stack import settings, stack, stack_env

__all__ = ["settings", "stack", "stack_env"]  # the session's one local stack (tests/stack.py)


@pytest.fixture(autouse=True)
def _restore_environ():
    """Tests may point settings elsewhere; every test starts from the same environment."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)
    get_settings.cache_clear()
