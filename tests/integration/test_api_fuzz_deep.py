"""Schemathesis over the whole OpenAPI document with a large budget, against the live submit
service: every phase Schemathesis runs under pytest (the document's examples, the coverage phase's
boundary and invalid values, then FUZZ_EXAMPLES random positive and negative requests per
operation), no 5xx, every response as documented. The last test checks that the budget was really
spent: at least MIN_CASES requests in all."""

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.specs.openapi.checks import response_schema_conformance

from omtx.api.openapi import document

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]
schema = schemathesis.openapi.from_dict(document())
FUZZ_EXAMPLES = 150
MIN_CASES = 1_000
CALLS: Counter[str] = Counter()


@schema.parametrize()
@hypothesis_settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_never_fails_and_matches_its_document_under_a_large_budget(case, settings):
    response = case.call(base_url=settings.api_base_url, timeout=60)
    CALLS[case.operation.label] += 1  # the coverage phase also tries undocumented methods on it
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code} {response.text}"
    case.validate_response(response, checks=[response_schema_conformance])


def test_the_budget_was_spent(capsys):
    with capsys.disabled():
        print(f"\nschemathesis: {sum(CALLS.values())} requests over {len(CALLS)} operations: {dict(CALLS)}")
    assert set(CALLS) == {op.ok().label for op in schema.get_all_operations()}, "run the whole module"
    assert sum(CALLS.values()) >= MIN_CASES
