"""The Modal worker function's body, run offline with `Function.local()` against the emulators."""

import json

import pytest

from omtx.domain import ProteinIn
from omtx.gcp import storage
from omtx.gcp.firestore import claims
from omtx.gcp.firestore.common import call_ref
from omtx.predictors.base import LigandTask
from omtx.worker import WorkOrder
from tests.integration.helpers import CDK2_FRAGMENT, seed_batch

pytestmark = pytest.mark.integration


def test_modal_worker_body_stores_outputs_reports_and_holds_its_lease(settings, subscribe):
    from modal_gpu.app import run_cpu_work_order

    job_done = subscribe(settings.topic_job_done)
    batch, jobs = seed_batch(2)
    b = batch.batch_id
    # As dispatch claims them for a Modal call: the call's first lease is the jobs' deadline.
    ok_job, bad_job = claims.claim_jobs(b, [j.job_id for j in jobs], "modal", "fc-test", 900, lease_s=900)
    order = WorkOrder(
        batch_id=b,
        model="rdkit_props",
        protein=ProteinIn(sequence=CDK2_FRAGMENT),
        ligands=[
            LigandTask(job_id=ok_job.job_id, index=0, name="aspirin", canonical_smiles="CC(=O)Oc1ccccc1C(=O)O"),
            LigandTask(job_id=bad_job.job_id, index=1, name="broken", canonical_smiles="C1CC"),
        ],
        executor="modal",
        call_id="fc-test",
    )
    assert run_cpu_work_order.local(order.model_dump_json()) == 2

    messages = {
        result["job_id"]: result
        for m in job_done.drain(1.5)
        if m.attributes["batch_id"] == b
        for result in json.loads(m.data)["results"]
    }
    assert set(messages) == {ok_job.job_id, bad_job.job_id}
    ok, bad = messages[ok_job.job_id], messages[bad_job.job_id]
    assert ok["status"] == "succeeded" and ok["call_id"] == "fc-test"
    assert json.loads(storage.get_bytes(ok["result_uri"]))["metrics"]["formula"] == "C9H8O4"
    assert bad["status"] == "failed" and "could not parse" in bad["error"]
    assert b"could not parse" in storage.get_bytes(bad["files"]["logs.txt"])
    # The worker held the call's lease: its first renewal marked it started, its last finished,
    # and it said which jobs it reported.
    call = call_ref(b, "fc-test").get().to_dict()
    assert call["started_at"] <= call["finished_at"] and set(call["reported"]) == set(messages)
