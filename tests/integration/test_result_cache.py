"""The result cache: a job whose model version, parameters, protein and molecule already have a
succeeded result is completed from it, across batches, without a model run."""

import json

import pytest
import requests

from omtx.gcp import storage
from omtx.gcp.firestore import batches as batch_store
from omtx.gcp.firestore import jobs as job_store
from tests.integration.conftest import wait_for
from tests.integration.helpers import CDK2_FRAGMENT

pytestmark = pytest.mark.integration


def run_batch(settings, smiles: list[str], **overrides) -> list:
    request = {
        "protein": {"sequence": CDK2_FRAGMENT},
        "params": {"seed": 7},
        "ligands": [{"name": f"l{i}", "smiles": s} for i, s in enumerate(smiles)],
    } | overrides
    response = requests.post(f"{settings.api_base_url}/v1/batches", json=request, timeout=60)
    assert response.status_code == 202, response.text
    batch_id = response.json()["batch_id"]
    wait_for(lambda: batch_store.get_batch(batch_id).status == "completed", timeout_s=60)
    return list(job_store.iter_jobs(batch_id))


def test_a_repeated_prediction_is_answered_from_the_cache(settings):
    # Molecules no other test uses, so the first batch really runs them.
    first = run_batch(settings, ["CCCCCCCCC(=O)OC", "CCCCCCCCCC(=O)OC"])
    assert all(j.cached_from is None for j in first)

    # Same protein and parameters; one molecule written differently (same canonical form), one new.
    second = run_batch(settings, ["COC(=O)CCCCCCCC", "CCCCCCCCCCC(=O)OC"])
    hit, miss = second
    assert hit.cached_from == f"{first[0].batch_id}/{first[0].job_id}"
    assert hit.metrics == first[0].metrics and hit.files["structure.sdf"] == first[0].files["structure.sdf"]
    # the hit has its own results.json, naming it and where its result came from
    result = json.loads(storage.get_bytes(hit.result_uri))
    assert (result["batch_id"], result["job_id"], result["cached_from"]) == (hit.batch_id, hit.job_id, hit.cached_from)
    assert result["metrics"] == first[0].metrics
    assert hit.input_hash == first[0].input_hash
    assert miss.cached_from is None and miss.result_uri != first[1].result_uri

    # Other parameters, or a batch that asks not to reuse results: everything runs.
    reseeded = run_batch(settings, ["CCCCCCCCC(=O)OC"], params={"seed": 8})
    fresh = run_batch(settings, ["CCCCCCCCC(=O)OC"], cache=False)
    assert reseeded[0].cached_from is None and fresh[0].cached_from is None
    assert fresh[0].result_uri != first[0].result_uri


def test_another_tenants_result_is_reused_without_naming_it(settings):
    from omtx.domain import BatchRequest
    from omtx.usecases.submit import submit_batch

    [source] = run_batch(settings, ["CCCCCCCCCCCC(=O)OC"])
    request = BatchRequest.model_validate(
        {"protein": {"sequence": CDK2_FRAGMENT}, "params": {"seed": 7}, "ligands": [{"smiles": "CCCCCCCCCCCC(=O)OC"}]}
    )
    batch_id = submit_batch(request, "acme").batch_id
    wait_for(lambda: batch_store.get_batch(batch_id).status == "completed", timeout_s=60)
    [hit] = job_store.iter_jobs(batch_id)
    assert hit.cached_from == "(another tenant)" and hit.metrics == source.metrics
    # every file is this job's own copy: nothing points into the other tenant's batch
    assert all(f"/batches/{batch_id}/jobs/{hit.job_id}/" in uri for uri in hit.files.values())
    assert storage.get_bytes(hit.files["structure.sdf"]) == storage.get_bytes(source.files["structure.sdf"])
    assert source.batch_id not in storage.get_bytes(hit.result_uri).decode()
