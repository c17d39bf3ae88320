import sys
from pathlib import Path

import pytest

# The Pulumi program's package lives in infra/ (Pulumi runs it from there); import it the same way.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "infra"))

from tests.infra.program import Deployed, deploy


@pytest.fixture(scope="session")
def deployed() -> Deployed:
    """The default stack: a private API."""
    return deploy()


@pytest.fixture(scope="session")
def deployed_public() -> Deployed:
    """A stack whose API anyone may call, plus one named group of invokers."""
    return deploy({"omtx-hub:apiPublic": "true", "omtx-hub:apiInvokers": '["group:chemists@example.com"]'})
