"""Schemathesis over the OpenAPI document, against the live submit service: no 5xx, and every
response matches the document."""

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.specs.openapi.checks import response_schema_conformance

from omtx.api.openapi import document

pytestmark = pytest.mark.integration
schema = schemathesis.openapi.from_dict(document())


@schema.parametrize()
@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_never_fails_and_matches_its_document(case, settings):
    response = case.call(base_url=settings.api_base_url, timeout=60)
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code} {response.text}"
    case.validate_response(response, checks=[response_schema_conformance])
