"""Library files on the running stack: Excel's cp1252 CSV, SMILES and SD files dropped into the
bucket (with their request beside them, in either order) or uploaded to the API become batches,
each answered in a result file of its own; `omtx submit` and `omtx results` on a docking batch."""

import json
import time

import pytest
import requests
from rdkit import Chem
from typer.testing import CliRunner

from omtx.cli import main
from omtx.cli.demo_data import docking_request
from omtx.gcp.clients import storage_client
from omtx.gcp.firestore import batches as batch_store
from omtx.gcp.firestore import jobs as job_store
from tests.integration.conftest import wait_for
from tests.integration.helpers import CDK2_FRAGMENT, LIGANDS

pytestmark = pytest.mark.integration


def sdf(ligands, *, items=None) -> str:
    out = []
    for name, smiles in ligands:
        mol = Chem.MolFromSmiles(smiles)
        mol.SetProp("_Name", name)
        out.append(Chem.MolToMolBlock(mol) + "".join(f">  <{k}>\n{v}\n\n" for k, v in (items or {}).items()) + "$$$$\n")
    return "".join(out)


def unique(stem: str) -> str:
    return f"{stem}-{time.time_ns() % 10**10}"


def put(settings, name: str, data: bytes) -> int:
    blob = storage_client().bucket(settings.inputs_bucket).blob(f"drops/{name}")
    blob.upload_from_string(data)
    return blob.generation


def answer(settings, name: str, generation: int, status: str | None = None, timeout_s: float = 60):
    blob = storage_client().bucket(settings.inputs_bucket).blob(f"drops/{name}.result.json")

    def ready():
        if not blob.exists():
            return None
        body = json.loads(blob.download_as_bytes())
        return body if body["generation"] == str(generation) and status in (None, body["status"]) else None

    return wait_for(ready, timeout_s=timeout_s)


def finished(batch_id: str):
    return wait_for(lambda: (b := batch_store.get_batch(batch_id)) and b.status.is_final and b, timeout_s=90)


def test_an_excel_cp1252_csv_drop_becomes_a_batch_and_its_result_says_how_it_was_read(settings):
    name = unique("excel") + ".csv"
    text = f"# protein: {CDK2_FRAGMENT}\r\nName;SMILES\r\nAspirin 5 µM;CC(=O)Oc1ccccc1C(=O)O\r\nStraße-1;CCO\r\n"
    result = answer(settings, name, put(settings, name, text.encode("cp1252")))
    assert result["status"] == "accepted", result
    assert (result["format"], result["encoding"], result["accepted"]) == ("csv", "cp1252", 2)
    (note,) = result["warnings"]
    assert note["loc"] == ["library"] and "read as Windows-1252" in note["msg"] and "Aspirin 5 µM" in note["msg"]
    assert finished(result["batch_id"]).status == "completed"
    assert sorted(j.ligand_name for j in job_store.iter_jobs(result["batch_id"])) == ["Aspirin 5 µM", "Straße-1"]


def test_smi_and_sdf_of_one_name_wait_for_their_request_and_answer_in_files_of_their_own(settings):
    stem = unique("screen")
    smi = "SMILES Name\n" + "".join(f"{s} {n}\n" for n, s in LIGANDS[:4]) + "C[C@H](O)CC |&1:1| racemic\n"
    library_generations = {
        f"{stem}.smi": put(settings, f"{stem}.smi", smi.encode()),
        f"{stem}.sdf": put(settings, f"{stem}.sdf", sdf(LIGANDS[4:7]).encode()),
    }
    for name, generation in library_generations.items():
        waiting = answer(settings, name, generation, "waiting")
        assert waiting["waiting_for"] == f"drops/{stem}.request.json" and "no protein" in waiting["message"]

    request = {"protein": {"sequence": CDK2_FRAGMENT}, "model": "rdkit_props", "on_invalid": "skip", "name": stem}
    request_generation = put(settings, f"{stem}.request.json", json.dumps(request).encode())
    used = answer(settings, f"{stem}.request.json", request_generation, "used")
    assert used["libraries"] == {f"drops/{stem}.smi": "accepted", f"drops/{stem}.sdf": "accepted"}

    smi_result = answer(settings, f"{stem}.smi", library_generations[f"{stem}.smi"], "accepted")
    sdf_result = answer(settings, f"{stem}.sdf", library_generations[f"{stem}.sdf"], "accepted")
    assert smi_result["batch_id"] != sdf_result["batch_id"]
    assert (smi_result["format"], smi_result["accepted"], smi_result["rejected"]) == ("smi", 4, 1)
    (cx,) = smi_result["errors"]
    assert cx["line"] == 6 and "CXSMILES" in cx["msg"]
    assert (sdf_result["format"], sdf_result["accepted"]) == ("sdf", 3)
    assert (
        smi_result["request"]
        == sdf_result["request"]
        == f"gs://{settings.inputs_bucket}/drops/{stem}.request.json#{request_generation}"
    )
    for result in (smi_result, sdf_result):
        assert finished(result["batch_id"]).status == "completed"
    names = {j.ligand_name for j in job_store.iter_jobs(sdf_result["batch_id"])}
    assert names == {n for n, _ in LIGANDS[4:7]}

    # A redelivered notification of either file replays the batch it made
    from omtx.usecases.drops import Notification, ingest

    for name, generation in [
        (f"{stem}.sdf", library_generations[f"{stem}.sdf"]),
        (f"{stem}.request.json", request_generation),
    ]:
        event = Notification(
            bucket=settings.inputs_bucket,
            object_id=f"drops/{name}",
            generation=str(generation),
            event_type="OBJECT_FINALIZE",
        )
        ingest(event)
    again = answer(settings, f"{stem}.sdf", library_generations[f"{stem}.sdf"], "accepted")
    assert again["batch_id"] == sdf_result["batch_id"]
    named = {b.batch_id for b in batch_store.list_batches("default", limit=1000)[0] if b.name == stem}
    assert named == {smi_result["batch_id"], sdf_result["batch_id"]}


def test_an_sdf_dropped_after_its_request_names_every_bad_record(settings):
    stem = unique("records")
    request = {"protein": {"sequence": CDK2_FRAGMENT}, "on_invalid": "reject", "name_field": "Catalog ID"}
    request_generation = put(settings, f"{stem}.request.json", json.dumps(request).encode())
    waiting = answer(settings, f"{stem}.request.json", request_generation, "waiting")
    assert "no library" in waiting["message"]

    good = sdf(LIGANDS[:2], items={"Catalog ID": "Z-1"})
    truncated = "\n".join(sdf([("cut", "c1ccccc1")]).split("\n")[:7]) + "\nM  END\n$$$$\n"
    salt = sdf([("salt", "[Na+].[Cl-]")])
    data = (good + truncated + salt).encode()
    result = answer(settings, f"{stem}.sdf", put(settings, f"{stem}.sdf", data), "rejected")
    by_record = {e["record"]: e for e in result["errors"]}
    assert sorted(by_record) == [2, 3, 4]  # the duplicate name, the cut record, the salt
    assert "duplicate ligand name" in by_record[2]["msg"]
    assert "cut short" in by_record[3]["msg"] and by_record[3]["line"] == good.count("\n") + 1
    assert "no organic component" in by_record[4]["msg"]


def test_the_api_takes_a_library_file_and_its_request_as_multipart(settings):
    url = f"{settings.api_base_url}/v1/batches"
    request = json.dumps({"protein": {"sequence": CDK2_FRAGMENT}, "on_invalid": "skip", "name": "upload"})
    data = (sdf(LIGANDS[:3]) + sdf([("Straße", "CCN")])).encode("cp1252")
    response = requests.post(url, files={"library": ("lib.sdf", data), "request": (None, request)}, timeout=60)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["accepted"] == 4 and "read as Windows-1252" in body["warnings"][0]["msg"]
    assert body["links"]["self"] == f"/v1/batches/{body['batch_id']}"
    assert finished(body["batch_id"]).status == "completed"

    # One 422 names every bad row with its line and record; the request part may be a file too
    bad = sdf([("ok", "CCO"), ("radical", "C[CH2]")]) + "garbage\n$$$$\n"
    reject = json.dumps({"protein": {"sequence": CDK2_FRAGMENT}}).encode()
    files = {"library": ("bad.sdf", bad.encode()), "request": ("r.json", reject, "application/json")}
    response = requests.post(url, files=files, timeout=60)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert [(d["record"], d["loc"]) for d in detail] == [(2, ["ligands", 1, "smiles"]), (3, ["ligands", 2, "smiles"])]
    assert "radical" in detail[0]["msg"] and detail[1]["line"] == bad.count("\n") - 1

    # The request part is checked like a JSON body, and a file that is no library says why
    for files, message in [
        ({"library": ("x.smi", b"CCO\n"), "request": (None, '{"protein": {"sequence": "M3N"}}')}, "not a protein"),
        ({"library": ("x.xlsx", b"PK\x03\x04"), "request": (None, request)}, "Excel workbook"),
        ({"library": ("x.smi", b"CCO\n")}, "no protein"),
    ]:
        response = requests.post(url, files=files, timeout=60)
        assert response.status_code == 422 and message in response.text, response.text
    response = requests.post(url, files={"request": (None, request)}, timeout=60)
    assert response.status_code == 400 and "'library'" in response.json()["message"]


def test_omtx_submit_a_docking_library_and_omtx_results_ranks_its_hits(settings, tmp_path, monkeypatch):
    monkeypatch.setattr(main.console, "width", 200)
    docking = docking_request(1)
    docking["params"] |= {"exhaustiveness": 1, "n_poses": 2}
    request = {k: v for k, v in docking.items() if k in ("protein", "model", "params")} | {"name": "cli docking"}
    (tmp_path / "hits.request.json").write_text(json.dumps(request))
    library = tmp_path / "hits.smi"
    library.write_text("CCO ethanol\nCn1cnc2c1c(=O)n(C)c(=O)n2C caffeine\nCC(=O)Nc1ccc(O)cc1 paracetamol\n")

    runner = CliRunner()
    submitted = runner.invoke(main.app, ["submit", str(library), "--watch"])
    assert submitted.exit_code == 0, submitted.output
    assert "hits.request.json" in submitted.output and "accepted: 3 jobs, model vina" in submitted.output
    batch_id = submitted.output.split("batch ", 1)[1].split()[0]
    assert finished(batch_id).status == "completed"

    ranked = runner.invoke(main.app, ["results", batch_id])
    assert ranked.exit_code == 0, ranked.output
    assert "by vina_score (ascending)" in ranked.output
    rows = [
        line for line in ranked.output.splitlines() if any(n in line for n in ("ethanol", "caffeine", "paracetamol"))
    ]
    assert len(rows) == 3
    scores = [job.metrics["vina_score"] for job in job_store.iter_jobs(batch_id)]
    best_first = [j.ligand_name for j in sorted(job_store.iter_jobs(batch_id), key=lambda j: j.metrics["vina_score"])]
    assert [next(n for n in best_first if n in row) for row in rows] == best_first and len(scores) == 3

    wrong = runner.invoke(main.app, ["results", batch_id, "--sort", "-qed"])
    assert wrong.exit_code == 1
    assert (
        "ran vina, which has no metric 'qed'" in wrong.output
        and "vina_score (primary, lower is better)" in wrong.output
    )
