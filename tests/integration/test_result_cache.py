"""The result cache: a job whose model version, parameters, protein and molecule already have a
succeeded result is completed from it, across batches, without a model run, with its own copy of
the files (deleting the source batch must not break it)."""

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
    assert hit.metrics == first[0].metrics
    # its own copy of every file, nothing pointing into the source's folder
    assert all(f"/batches/{hit.batch_id}/jobs/{hit.job_id}/" in uri for uri in hit.files.values())
    assert storage.get_bytes(hit.files["structure.sdf"]) == storage.get_bytes(first[0].files["structure.sdf"])
    metadata = json.loads(storage.get_bytes(hit.files["metadata.json"]))
    assert (metadata["batch_id"], metadata["job_id"], metadata["cached_from"]) == (
        hit.batch_id,
        hit.job_id,
        hit.cached_from,
    )
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


def test_deleting_the_source_batch_leaves_the_cached_batch_whole(settings):
    [source] = run_batch(settings, ["CCCCCCCCCCCCC(=O)OC", "CCCCCCCCCCCCCC(=O)OC"])[:1]
    second = run_batch(settings, ["CCCCCCCCCCCCC(=O)OC"])
    [hit] = second
    assert hit.cached_from == f"{source.batch_id}/{source.job_id}"
    api = settings.api_base_url
    base = f"{api}/v1/batches/{hit.batch_id}"
    served = {name: requests.get(f"{base}/jobs/{hit.job_id}/files/{name}", timeout=30) for name in hit.files}
    assert {name: r.status_code for name, r in served.items()} == dict.fromkeys(hit.files, 200)
    exports = requests.get(base, timeout=30).json()["links"]

    assert requests.delete(f"{api}/v1/batches/{source.batch_id}", timeout=60).status_code == 204
    assert requests.get(f"{api}/v1/batches/{source.batch_id}", timeout=30).status_code == 404
    # every file of the cached job, and every export of its batch, still answers the same
    for name, before in served.items():
        after = requests.get(f"{base}/jobs/{hit.job_id}/files/{name}", timeout=30)
        assert (after.status_code, after.content) == (200, before.content), name
    for name, link in exports.items():
        if name not in ("self", "results"):
            assert requests.get(f"{api}{link}", timeout=30).status_code == 200, name
    # and a new batch with the same molecule is still answered from the cache: from the copy
    [again] = run_batch(settings, ["CCCCCCCCCCCCC(=O)OC"])
    assert again.cached_from == f"{hit.batch_id}/{hit.job_id}"
    assert storage.get_bytes(again.files["structure.sdf"]) == served["structure.sdf"].content
