"""One trace follows a batch through every service: the caller's traceparent at submit shows up
in the structured logs that submit, dispatch, complete and aggregate write (the local stack keeps
each service's log in its own file)."""

from __future__ import annotations

import json
import secrets

import pytest
import requests

from omtx.gcp.firestore import batches as batch_store
from omtx.logs import TRACE
from tests.integration.conftest import wait_for
from tests.integration.helpers import batch_request

pytestmark = pytest.mark.integration
SERVICES = ("submit", "dispatch", "complete", "aggregate")


def lines_of(stack, service: str, trace_id: str) -> list[dict]:
    found = []
    for line in (stack.log_dir / f"{service}.log").read_text(errors="replace").splitlines():
        if trace_id not in line or not line.startswith("{"):
            continue
        entry = json.loads(line)
        if entry.get(TRACE) == f"projects/{stack.settings.project}/traces/{trace_id}":
            found.append(entry)
    return found


def test_one_trace_id_in_the_logs_of_every_service(settings, stack):
    trace_id = secrets.token_hex(16)
    response = requests.post(
        f"{settings.api_base_url}/v1/batches",
        json=batch_request(6),
        headers={"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"},
        timeout=30,
    )
    assert response.status_code == 202, response.text
    batch_id = response.json()["batch_id"]
    wait_for(lambda: batch_store.get_batch(batch_id).status.is_final, timeout_s=90)
    assert batch_store.get_batch(batch_id).traceparent.split("-")[1] == trace_id
    wait_for(lambda: all(lines_of(stack, s, trace_id) for s in SERVICES), timeout_s=30)
    for service in SERVICES:
        for entry in lines_of(stack, service, trace_id):
            # every line of the trace is this batch's, and says so in its labels
            assert entry["logging.googleapis.com/labels"]["batch_id"] == batch_id, (service, entry)
