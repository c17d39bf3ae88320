"""Design campaigns on the running stack, request → jobs → designs table → exports, with the CPU
stand-in of RFantibody's three tools (OMTX_RFANTIBODY_STANDIN, set in conftest): the stand-in
writes the tools' file formats, so everything after the tools is the production path."""

import csv
import io
import json
from importlib import resources
from pathlib import Path

import pytest
import requests

from omtx.designs.request import DesignRequest
from omtx.events import JobDone
from omtx.gcp import storage
from omtx.gcp.clients import firestore_client
from omtx.gcp.firestore import batches as batch_store
from omtx.gcp.firestore import completion, finalization
from omtx.gcp.firestore import jobs as job_store
from omtx.usecases import designs as design_usecase
from tests.integration.conftest import wait_for

pytestmark = pytest.mark.integration

RECEPTOR = resources.files("omtx.data").joinpath("1s2g_receptor.pdb").read_text()
FIX = Path(__file__).resolve().parent.parent / "fixtures" / "rfantibody" / "inputs"
FRAMEWORK = (FIX / "framework_nanobody.pdb").read_text()
LIGAND_KEYS = {"ligand", "ligand_name", "smiles", "canonical_smiles", "inchikey", "ligands"}


def api(settings, method, path, **kw):
    return requests.request(method, f"{settings.api_base_url}{path}", timeout=120, **kw)


def final(batch_id):
    batch = batch_store.get_batch(batch_id)
    return batch if batch and batch.status.is_final and finalization.finalization_done(batch_id) else None


def campaign(structure: str, **changes) -> dict:
    # timeout_s=600: half of it at 90 s a design (2 sequences) is 3 designs a job → 5 designs, 2 jobs
    return {
        "name": "e2e nanobodies",
        "target": {"structure": structure, "chain": "A"},
        "hotspots": ["A59", "62"],
        "framework": "custom",
        "framework_pdb": FRAMEWORK,
        "num_designs": 5,
        "seed": 11,
        "settings": {"seqs_per_struct": 2, "timeout_s": 600},
    } | changes


def no_ligand_keys(value) -> bool:
    if isinstance(value, dict):
        return not (LIGAND_KEYS & set(value)) and all(no_ligand_keys(v) for v in value.values())
    if isinstance(value, list):
        return all(no_ligand_keys(v) for v in value)
    return True


def test_a_design_campaign_runs_to_its_designs_table_and_exports(settings, subscribe):
    batch_done = subscribe(settings.topic_batch_done)
    uri = api(settings, "POST", "/v1/structures", json={"structure": RECEPTOR}).json()["uri"]
    dry = api(settings, "POST", "/v1/designs?dry_run=true", json=campaign(uri))
    assert dry.status_code == 200, dry.text
    plan = dry.json()
    assert (plan["batch_id"], plan["designs_per_job"], len(plan["jobs"]), plan["hotspots"]) == (
        None,
        3,
        2,
        ["A59", "A62"],
    )
    assert [(j["first_design"], j["num_designs"], j["seed"]) for j in plan["jobs"]] == [(0, 3, 11), (3, 2, 12)]
    assert plan["estimate"]["hardware"] == "A100-80GB" and plan["estimate"]["gpu_seconds"] > 0

    response = api(settings, "POST", "/v1/designs", json=campaign(uri))
    assert response.status_code == 202, response.text
    b = response.json()["batch_id"]
    assert response.headers["Location"] == f"/v1/designs/{b}"
    done = wait_for(lambda: final(b), timeout_s=180)
    assert (done.status, done.kind, done.total, done.succeeded) == ("completed", "designs", 2, 2)
    assert done.design.hotspots == ["A59", "A62"] and done.cache is False

    # The job documents hold design runs, no ligand; their results.json too; nothing came from a cache.
    docs = [s.to_dict() for s in firestore_client().collection("batches").document(b).collection("jobs").stream()]
    assert len(docs) == 2 and all(no_ligand_keys(d) and d["kind"] == "design" for d in docs)
    assert sorted(d["design"]["first_design"] for d in docs) == [0, 3]
    for job in job_store.iter_jobs(b):
        assert job.cached_from is None and job.executor == "local"
        result = json.loads(storage.get_bytes(job.result_uri))
        assert (
            no_ligand_keys({k: v for k, v in result.items() if k != "raw"})
            and result["design"] == job.design.model_dump()
        )
        assert "stand_in" in result["raw"]["tool"]

    # The designs table: one row per designed sequence, sorted by interaction pAE, with filter flags.
    page = api(settings, "GET", f"/v1/designs/{b}/designs").json()
    rows = page["designs"]
    assert page["matching"] == len(rows) == 10  # 5 backbones × 2 sequences
    assert [r["interaction_pae"] for r in rows] == sorted(r["interaction_pae"] for r in rows)
    assert len({r["tag"] for r in rows}) == 10 and {r["run"] for r in rows} == {"run-0000", "run-0001"}
    assert {r["backbone_tag"] for r in rows} == {f"samples_design_{n}" for n in range(5)}
    for row in rows:
        assert isinstance(row["filter_rf2_pae"], bool) and isinstance(row["filter_design_rf2_rmsd"], bool)
        assert row["passes_filters"] == (row["filter_rf2_pae"] and row["filter_design_rf2_rmsd"])
        assert row["filter_rosetta_ddg"] is None and row["cdr_H3"] and row["heavy_sequence"] and row["stand_in"]
    descending = api(settings, "GET", f"/v1/designs/{b}/designs?order_by=-pae").json()["designs"]
    assert [r["pae"] for r in descending] == sorted((r["pae"] for r in rows), reverse=True)
    passing = api(settings, "GET", f"/v1/designs/{b}/designs?passes_filters=true").json()["designs"]
    assert {r["tag"] for r in passing} == {r["tag"] for r in rows if r["passes_filters"]}
    narrow = api(settings, "GET", f"/v1/designs/{b}/designs?max_interaction_pae=10&limit=2").json()
    assert all(r["interaction_pae"] <= 10 for r in narrow["designs"]) and len(narrow["designs"]) <= 2
    bad = api(settings, "GET", f"/v1/designs/{b}/designs?order_by=heavy_sequence")
    assert bad.status_code == 400 and "not a numeric column" in bad.text

    # Each design's complex is downloadable: antibody chain H and the target.
    pdb = api(settings, "GET", rows[0]["structure"])
    assert pdb.status_code == 200
    chains = {line[21] for line in pdb.text.splitlines() if line.startswith("ATOM")}
    assert chains == {"H", "T"}

    # Exports: the CSV in the table's order, the FASTA of the passing designs, the report.
    view = api(settings, "GET", f"/v1/designs/{b}").json()
    assert {"designs.csv", "passing_designs.fasta", "report.html", "designs.json"} <= set(view["links"])
    table = list(csv.DictReader(io.StringIO(api(settings, "GET", f"/v1/designs/{b}/exports/designs.csv").text)))
    assert [r["tag"] for r in table] == [r["tag"] for r in rows]
    fasta = api(settings, "GET", f"/v1/designs/{b}/exports/passing_designs.fasta").text
    assert fasta.count(">") == len(passing) and all(f">{r['tag']}|H" in fasta for r in passing)
    report = api(settings, "GET", f"/v1/designs/{b}/exports/report.html")
    assert "$3Dmol.createViewer" in report.text and "CPU stand-in" in report.text
    assert "sha256-" in report.headers["Content-Security-Policy"]
    aggregated = json.loads(api(settings, "GET", f"/v1/designs/{b}/exports/designs.json").text)
    assert no_ligand_keys(aggregated) and len(aggregated["designs"]) == 10

    # batch-done once, with the design manifest.
    events = [json.loads(m.data) for m in batch_done.drain(3.0) if m.attributes["batch_id"] == b]
    assert len(events) == 1
    assert {"designs_csv", "passing_fasta", "designs_json", "report_html"} <= set(events[0]["results"])

    # The same request again runs again: a design run is never answered from a cache. With an
    # Idempotency-Key, a retried POST answers with the campaign it created.
    key = {"Idempotency-Key": f"designs-{b}"}
    first = api(settings, "POST", "/v1/designs", json=campaign(uri), headers=key)
    again = first.json()["batch_id"]
    replay = api(settings, "POST", "/v1/designs", json=campaign(uri), headers=key)
    assert (first.status_code, replay.status_code, replay.json()["batch_id"]) == (202, 200, again)
    assert replay.json()["replayed"] is True and again != b
    assert api(settings, "POST", "/v1/designs", json=campaign(uri, num_designs=6), headers=key).status_code == 409
    wait_for(lambda: final(again), timeout_s=180)
    assert all(j.cached_from is None and j.executor == "local" for j in job_store.iter_jobs(again))
    # The batch routes serve a campaign's files too, with its report's policy.
    via_batches = api(settings, "GET", f"/v1/batches/{again}/exports/report.html")
    assert via_batches.status_code == 200 and "sha256-" in via_batches.headers["Content-Security-Policy"]
    assert via_batches.headers["Content-Security-Policy"] == report.headers["Content-Security-Policy"]

    # A ligand batch's routes do not take it for a design campaign, nor the reverse.
    assert api(settings, "GET", f"/v1/designs/{b}/exports/batch_results.csv").status_code == 404
    assert api(settings, "DELETE", f"/v1/designs/{b}").status_code == 204
    assert api(settings, "GET", f"/v1/designs/{b}").status_code == 404


def test_bad_hotspots_and_an_unlabelled_framework_are_refused_by_name(settings):
    unlabelled = "".join(line for line in FRAMEWORK.splitlines(True) if not line.startswith("REMARK"))
    body = campaign(RECEPTOR, hotspots=["A59", "A84", "B12", "A9999"], framework_pdb=unlabelled)
    response = api(settings, "POST", "/v1/designs", json=body)
    assert response.status_code == 422
    problems = {tuple(d["loc"]): d["msg"] for d in response.json()["detail"]}
    assert "hotspot A84 is buried: relative SASA" in problems[("hotspots", 1)]
    assert "not on the target chain A" in problems[("hotspots", 2)]
    assert "chain A has no residue 9999" in problems[("hotspots", 3)]
    assert "no REMARK PDBinfo-LABEL lines marking its CDRs" in problems[("framework_pdb",)]
    elsewhere = campaign("gs://omtx-inputs/structures/someone-else/" + "0" * 64 + ".pdb")
    refused = api(settings, "POST", "/v1/designs", json=elsewhere)
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["target", "structure"]
    assert "not a structure you can use" in refused.json()["detail"][0]["msg"]


def seeded(settings, monkeypatch) -> str:
    """A design campaign whose jobs are written but not dispatched: the test plays the rest."""
    monkeypatch.setattr(design_usecase, "publish_chunks", lambda batch, jobs: 0)
    outcome = design_usecase.submit_designs(DesignRequest.model_validate(campaign(RECEPTOR)), settings.tenant)
    assert outcome.batch_id is not None
    return outcome.batch_id


def test_cancel_and_retry_work_on_design_campaigns(settings, subscribe, monkeypatch):
    batch_done = subscribe(settings.topic_batch_done)
    cancelled = seeded(settings, monkeypatch)
    response = api(settings, "POST", f"/v1/designs/{cancelled}/cancel")
    assert response.status_code == 200 and response.json()["cancelled_jobs"] == 2
    assert final(cancelled).status == "cancelled"

    retried = seeded(settings, monkeypatch)
    for job in job_store.iter_jobs(retried):
        completion.complete_job(JobDone(batch_id=retried, job_id=job.job_id, status="failed", error="GPU lost"))
    assert wait_for(lambda: final(retried), timeout_s=60).status == "failed"
    response = api(settings, "POST", f"/v1/designs/{retried}/retry")
    assert response.status_code == 202, response.text
    second = wait_for(lambda: (x := final(retried)) and x.revision == 1 and x, timeout_s=180)
    assert (second.status, second.succeeded) == ("completed", 2)
    assert len(api(settings, "GET", f"/v1/designs/{retried}/designs").json()["designs"]) == 10
    events = [json.loads(m.data) for m in batch_done.drain(3.0)]
    assert [e["status"] for e in events if e["batch_id"] == cancelled] == ["cancelled"]
    assert [e["status"] for e in events if e["batch_id"] == retried] == ["failed", "completed"]
