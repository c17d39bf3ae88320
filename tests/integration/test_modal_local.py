"""The Modal worker function's body, run offline with `Function.local()` against the emulators."""

import json

import pytest

from omtx.domain import ProteinIn
from omtx.gcp import storage
from omtx.predictors.base import LigandTask
from omtx.worker import WorkOrder
from tests.integration.helpers import CDK2_FRAGMENT

pytestmark = pytest.mark.integration


def test_modal_worker_body_stores_outputs_and_reports(settings, subscribe):
    from modal_gpu.app import run_cpu_work_order

    job_done = subscribe(settings.topic_job_done)
    order = WorkOrder(
        batch_id="bmodal-local",
        model="rdkit_props",
        protein=ProteinIn(sequence=CDK2_FRAGMENT),
        ligands=[
            LigandTask(job_id="jm1", index=0, name="aspirin", canonical_smiles="CC(=O)Oc1ccccc1C(=O)O"),
            LigandTask(job_id="jm2", index=1, name="broken", canonical_smiles="C1CC"),
        ],
        executor="modal",
        call_id="fc-test",
    )
    assert run_cpu_work_order.local(order.model_dump_json()) == 2

    messages = {
        result["job_id"]: result
        for m in job_done.drain(1.5)
        if m.attributes["batch_id"] == "bmodal-local"
        for result in json.loads(m.data)["results"]
    }
    assert set(messages) == {"jm1", "jm2"}
    ok, bad = messages["jm1"], messages["jm2"]
    assert ok["status"] == "succeeded" and ok["call_id"] == "fc-test"
    assert json.loads(storage.get_bytes(ok["result_uri"]))["metrics"]["formula"] == "C9H8O4"
    assert bad["status"] == "failed" and "could not parse" in bad["error"]
    assert b"could not parse" in storage.get_bytes(bad["files"]["logs.txt"])
