"""Schemathesis across the tenant boundary: the submit app with API keys, called as tenant B,
with every generated request's `protein.structure` (where the body has one) replaced in turn by
one of tenant A's stored objects, a malformed or foreign `gs://` URI, or B's own upload. No 5xx,
every response as documented, and A's objects never accepted for B."""

import itertools
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from functions_framework import create_app
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.specs.openapi.checks import response_schema_conformance
from werkzeug.serving import make_server

from omtx import structures
from omtx.api.openapi import document
from omtx.cli.demo_data import docking_request
from omtx.settings import get_settings
from tests.integration.test_auth import create_key

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]
schema = schemathesis.openapi.from_dict(document("api_key"))
SOURCE = Path(__file__).resolve().parents[2] / "services" / "submit" / "main.py"
EXAMPLES = 40
CALLS: Counter[str] = Counter()
STATE: dict[str, Any] = {}


@pytest.fixture
def keyed_server(settings, monkeypatch) -> Iterator[str]:
    monkeypatch.setenv("OMTX_AUTH", "api_key")
    get_settings.cache_clear()
    server = make_server("127.0.0.1", 0, create_app("submit", str(SOURCE), "http"), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def tenants(keyed_server, settings) -> dict[str, Any]:
    """Two tenants, once per module: A's upload (B's references cycle through it) and B's key."""
    if not STATE:
        import requests

        suffix = uuid.uuid4().hex[:8]
        a, b = create_key(f"acme-{suffix}", "pro"), create_key(f"globex-{suffix}", "pro")
        receptor = docking_request(1)["protein"]["structure"]
        upload = requests.post(
            f"{keyed_server}/v1/structures", json={"structure": receptor}, headers={"X-API-Key": a}, timeout=60
        )
        own = requests.post(
            f"{keyed_server}/v1/structures", json={"structure": receptor}, headers={"X-API-Key": b}, timeout=60
        )
        assert upload.status_code == own.status_code == 201
        a_uri = upload.json()["uri"]
        STATE.update(
            b_key=b,
            a_uri=a_uri,
            references=itertools.cycle(
                [
                    a_uri,
                    own.json()["uri"],
                    a_uri.replace(f"gs://{settings.inputs_bucket}/", f"gs://{settings.results_bucket}/"),
                    a_uri.replace("structures/", "structures/../"),
                    f"gs://no-such-bucket-{suffix}/x.pdb",
                    "gs://",
                    f"gs://{settings.inputs_bucket}/batches/b{'0' * 16}/input.json",
                ]
            ),
        )
    return STATE


@schema.parametrize()
@hypothesis_settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_of_tenant_b_fails_or_reads_tenant_a(case, keyed_server, tenants):
    reference = None
    protein = case.body.get("protein") if isinstance(case.body, dict) else None
    if isinstance(protein, dict):
        reference = protein["structure"] = next(tenants["references"])
    response = case.call(base_url=keyed_server, headers={"X-API-Key": tenants["b_key"]}, timeout=60)
    CALLS[case.operation.label] += 1
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code} {response.text}"
    case.validate_response(response, checks=[response_schema_conformance])
    if reference == tenants["a_uri"] and response.status_code == 422:
        details = response.json().get("detail") or []
        structure = [d for d in details if d["loc"] == ["protein", "structure"]]
        assert structure == [] or structure[0]["msg"] == structures.NOT_YOURS
    if reference == tenants["a_uri"]:
        assert response.status_code >= 400, "tenant B's request naming tenant A's structure was accepted"


def test_the_tenant_fuzz_ran(capsys):
    with capsys.disabled():
        print(f"\nschemathesis (two tenants): {sum(CALLS.values())} requests over {len(CALLS)} operations")
    assert set(CALLS) == {op.ok().label for op in schema.get_all_operations()}, "run the whole module"
    assert sum(CALLS.values()) >= 300
