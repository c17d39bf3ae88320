"""A Vina docking batch through the stack: the receptor is checked and stored at submit, ligands
Vina cannot type are refused there, and every docked job has its poses and complex."""

import csv
import io

import gemmi
import pytest
import requests

from omtx.cli.demo_data import docking_request
from omtx.gcp import storage
from omtx.gcp.firestore import batches as batch_store
from omtx.gcp.firestore import jobs as job_store
from tests.integration.conftest import wait_for

pytestmark = pytest.mark.integration


def docking_batch(ligands: list[dict[str, str]], **params: object) -> dict[str, object]:
    request = docking_request(1)
    request["params"] |= {"exhaustiveness": 1, "n_poses": 3} | params
    request["ligands"] = ligands
    return request


def test_docking_batch_runs_end_to_end(settings):
    ligands = [
        {"name": "dAdo", "smiles": "Nc1ncnc2c1ncn2[C@H]1C[C@H](O)[C@@H](CO)O1"},
        {"name": "caffeine", "smiles": "Cn1cnc2c1c(=O)n(C)c(=O)n2C"},
        {"name": "bortezomib", "smiles": "CC(C)C[C@H](NC(=O)[C@H](Cc1ccccc1)NC(=O)c1cnccn1)B(O)O"},
    ]
    request = docking_batch(ligands) | {"on_invalid": "skip"}
    response = requests.post(f"{settings.api_base_url}/v1/batches", json=request, timeout=60)
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert (accepted["accepted"], accepted["rejected"]) == (2, 1)
    assert accepted["rejected_rows"][0]["loc"] == ["ligands", 2, "smiles"]
    assert "B cannot be handled" in accepted["rejected_rows"][0]["msg"]
    batch_id = accepted["batch_id"]

    def finished():
        body = requests.get(f"{settings.api_base_url}/v1/batches/{batch_id}", timeout=10).json()
        return body if body["status"] in {"completed", "completed_with_failures", "failed"} else None

    final = wait_for(finished, timeout_s=240)
    assert (final["status"], final["succeeded"]) == ("completed", 2)
    # the batch document keeps a content-addressed URI, not the structure text
    structure_uri = batch_store.get_batch(batch_id).protein.structure
    assert structure_uri.startswith(f"gs://{settings.inputs_bucket}/structures/")
    assert storage.get_bytes(structure_uri).decode() == request["protein"]["structure"]
    for job in job_store.iter_jobs(batch_id):
        assert job.metrics["vina_score"] < 0 and job.metrics["fits_box"]
        poses = storage.get_bytes(job.files["poses.sdf"])
        # Vina drops poses beyond its energy range, so up to n_poses come back
        assert poses.count(b"$$$$") == job.metrics["n_poses"] <= 3
        assert b"is_sidechain" not in poses and b"<vina_score_kcal_mol>" in poses
        complex_cif = storage.get_bytes(job.files["complex.cif"]).decode()
        chains = [c.name for c in gemmi.make_structure_from_block(gemmi.cif.read_string(complex_cif).sole_block())[0]]
        assert chains == ["A", "B", "L"]
        # every pose checked with PoseBusters; the job says whether its best pose passed, and what failed
        assert isinstance(job.metrics["pb_valid"], bool) and isinstance(job.metrics["pb_failed"], list)
        assert job.metrics["pb_poses_checked"] == job.metrics["n_poses"]
        assert job.metrics["pb_valid"] == (job.metrics["pb_failed"] == [])
        # the ligand's 2D drawing, stored by the worker and served by the job files route
        drawing = requests.get(
            f"{settings.api_base_url}/v1/batches/{batch_id}/jobs/{job.job_id}/files/ligand.svg", timeout=10
        )
        assert drawing.status_code == 200 and drawing.headers["Content-Type"] == "image/svg+xml"
        assert drawing.text.startswith("<svg") and "<script" not in drawing.text

    summary = requests.get(f"{settings.api_base_url}/v1/batches/{batch_id}/exports/summary.json", timeout=10).json()
    valid = sum(job.metrics["pb_valid"] for job in job_store.iter_jobs(batch_id))
    assert summary["pose_checks"] == {"best_poses_checked": 2, "best_poses_valid": valid, "fraction_valid": valid / 2}
    assert summary["flags"]["pb_valid"]["n"] == 2
    # a table of results filtered on the pose check: the valid jobs, the others, and a bad value named
    api = f"{settings.api_base_url}/v1/batches/{batch_id}"
    for flag in (True, False):
        expected = sorted(job.index for job in job_store.iter_jobs(batch_id) if job.metrics["pb_valid"] is flag)
        view = {"pb_valid": str(flag).lower(), "order_by": "vina_score"}
        page = requests.get(f"{api}/results", params=view, timeout=10).json()
        assert sorted(row["index"] for row in page["jobs"]) == expected
        assert all(row["metrics"]["pb_valid"] is flag for row in page["jobs"])
        table = requests.get(f"{api}/results.csv", params=view, timeout=10).text
        assert len(list(csv.DictReader(io.StringIO(table)))) == len(expected)
    refused = requests.get(f"{api}/results", params={"pb_valid": "yes"}, timeout=10)
    assert refused.status_code == 400 and refused.json()["detail"][0]["loc"] == ["query", "pb_valid"]
    report = requests.get(f"{settings.api_base_url}/v1/batches/{batch_id}/exports/report.html", timeout=10).text
    assert report.count('class="viewer" data-structure=') == 2  # both complexes, in 3Dmol viewers
    assert report.count('<td class=drawing><svg xmlns="http://www.w3.org/2000/svg"') == 2
    assert "No structures were produced" not in report and "PoseBusters:" in report


def test_a_structure_that_cannot_be_docked_into_is_refused_at_submit(settings):
    request = docking_batch([{"name": "ethanol", "smiles": "CCO"}], pocket_guard_a=13.0)
    response = requests.post(f"{settings.api_base_url}/v1/batches", json=request, timeout=60)
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == ["protein", "structure"] and "A:22 (12.6 Å)" in error["msg"]

    request["protein"].pop("structure")
    response = requests.post(f"{settings.api_base_url}/v1/batches", json=request, timeout=60)
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"].startswith("vina docks into a receptor")
