"""Every answer of the API's origin carries a Content-Security-Policy that runs only the origin's
own scripts (and the report viewer, by hash) and reaches no other origin; errors included."""

from pathlib import Path

import pytest
from functions_framework import create_app

from omtx.report.html import VIEWER_SCRIPT_SOURCE

SOURCE = Path(__file__).resolve().parents[2] / "services" / "submit" / "main.py"


@pytest.fixture(scope="module")
def client():
    return create_app("submit", str(SOURCE), "http").test_client()


@pytest.mark.parametrize("path", ["/healthz", "/v1/openapi.json", "/v1/batches/not-an-id", "/nowhere"])
def test_every_answer_has_the_policy(client, path):
    response = client.get(path)
    policy = response.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == f"'self' {VIEWER_SCRIPT_SOURCE}"  # no 'unsafe-inline', no host
    assert directives["frame-ancestors"] == "'none'"
    assert "http" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
