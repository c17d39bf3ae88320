"""Design requests' pure parts: target cut, hotspot checks (exposure), framework checks, job plan,
the designs table, FASTA, the report and the CPU stand-in, on the RFantibody fixtures and a real
receptor (omtx/data/1s2g_receptor.pdb)."""

import csv
import io
import json
import re
from importlib import resources
from pathlib import Path

import pytest
from rdkit import Chem
from rdkit.Chem import rdFreeSASA

from omtx.api.openapi import document
from omtx.designs import plan, report, table
from omtx.designs.exposure import MIN_RELATIVE_SASA, relative_sasa
from omtx.designs.request import DesignRequest
from omtx.designs.target import cut_target, hotspot_problems
from omtx.domain import DesignRun, Job, ProteinIn
from omtx.errors import InputError
from omtx.predictors.base import LigandTask
from omtx.predictors.rfantibody import RFAntibody, RfantibodyParams
from omtx.predictors.rfantibody.commands import Install
from omtx.predictors.rfantibody.outputs import RF2_KEYS, parse_quiver
from omtx.predictors.rfantibody.standin import BANNER, standin_runner
from omtx.usecases.designs import validate

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "rfantibody"
TARGET = (FIX / "inputs" / "target.pdb").read_text()
FRAMEWORK = (FIX / "inputs" / "framework_nanobody.pdb").read_text()
RECEPTOR = resources.files("omtx.data").joinpath("1s2g_receptor.pdb").read_text()
CIF = (
    Path(__file__).resolve().parent.parent / "fixtures" / "chai1" / "runs" / "ok" / "pred.model_idx_0.cif"
).read_text()


def request(**changes) -> DesignRequest:
    values = {
        "target": {"structure": RECEPTOR, "chain": "A"},
        "hotspots": ["A59", "62"],
        "framework": "custom",
        "framework_pdb": FRAMEWORK,
        "num_designs": 25,
        "settings": {"seqs_per_struct": 2},
    }
    return DesignRequest.model_validate(values | changes)


# --- exposure and hotspots ----------------------------------------------------------------------


def test_relative_sasa_tells_buried_from_exposed_on_a_real_receptor():
    chain_a = cut_target(RECEPTOR, "A").pdb
    values = relative_sasa(chain_a, [("A", 84), ("A", 8), ("A", 59), ("A", 1)])
    assert values[("A", 84)] < 0.05 and values[("A", 8)] < 0.05  # core residues
    assert values[("A", 59)] > 0.4 and values[("A", 1)] > 0.4  # surface residues


def test_relative_sasa_agrees_with_shrake_rupley_on_the_same_atoms():
    """Lee–Richards (what we use) against FreeSASA's other algorithm: the method, not the tool, decides."""
    chain_a = cut_target(RECEPTOR, "A").pdb
    mol = Chem.MolFromPDBBlock(chain_a, removeHs=False, sanitize=False, proximityBonding=False)
    radii = rdFreeSASA.classifyAtoms(mol)
    lee = rdFreeSASA.CalcSASA(mol, radii)
    opts = rdFreeSASA.SASAOpts(rdFreeSASA.ShrakeRupley, rdFreeSASA.Protor)
    shrake = rdFreeSASA.CalcSASA(mol, radii, opts=opts)
    assert abs(lee - shrake) / lee < 0.02


def test_each_bad_hotspot_is_named_with_why():
    target = cut_target(RECEPTOR, "A")
    hotspots, problems = hotspot_problems(target, ["A59", "B59", "A9999", "A84", "5x", "59"])
    assert hotspots == ["A59"]
    by_index = {p["loc"][1]: p["msg"] for p in problems}
    assert set(by_index) == {1, 2, 3, 4, 5}
    assert "on chain B, not on the target chain A" in by_index[1]
    assert "chain A has no residue 9999" in by_index[2]
    assert re.search(r"hotspot A84 is buried: relative SASA 0\.\d\d is below 0\.16", by_index[3])
    assert "is not a residue number" in by_index[4]
    assert "listed twice" in by_index[5]


def test_fixture_hotspots_are_exposed_and_the_target_is_cut_to_its_chain():
    target = cut_target(TARGET, "T")
    assert target.sequence == "KLDVYAFGWLE" and target.numbers[:2] == (303, 304)
    assert hotspot_problems(target, ["T305", "456"]) == (["T305", "T456"], [])
    assert min(relative_sasa(target.pdb, [("T", 305)]).values()) >= MIN_RELATIVE_SASA


def test_mmcif_targets_are_converted_and_a_missing_chain_is_named():
    target = cut_target(CIF, "A")
    assert target.pdb.startswith("ATOM") and target.sequence
    with pytest.raises(ValueError, match=r"no protein chain 'Z' \(its chains: A\)"):
        cut_target(CIF, "Z")


# --- the request as a whole ---------------------------------------------------------------------


def test_a_valid_request_plans_gpu_sized_jobs_with_distinct_seeds_and_tags():
    checked = validate(request(seed=100), "acme")
    assert checked.hotspots == ["A59", "A62"]
    # a design of 2 sequences is 60 s + 2 × 15 s: 13 fit the default job's 1200 s
    assert checked.params.num_designs == 13
    assert [(r.tag, r.first_design, r.num_designs, r.seed) for r in checked.runs] == [
        ("run-0000", 0, 13, 100),
        ("run-0001", 13, 12, 101),
    ]
    assert checked.target.chain == "A" and checked.positions == [
        checked.target.numbers.index(59),
        checked.target.numbers.index(62),
    ]


def test_an_invalid_hotspot_and_an_unlabelled_framework_are_refused_together():
    unlabelled = "".join(line for line in FRAMEWORK.splitlines(True) if not line.startswith("REMARK"))
    with pytest.raises(InputError) as refused:
        validate(request(hotspots=["A59", "A84"], framework_pdb=unlabelled), "acme")
    problems = {tuple(p["loc"]): p["msg"] for p in refused.value.details}
    assert "hotspot A84 is buried" in problems[("hotspots", 1)]
    assert problems[("framework_pdb",)] == (
        "not a usable HLT framework: the framework has no REMARK PDBinfo-LABEL lines marking its CDRs "
        "(see chothia2HLT.py)"
    )


def test_loops_the_framework_lacks_and_bad_settings_are_named():
    with pytest.raises(InputError) as refused:
        validate(request(design_loops="H1:7,L1:8"), "acme")
    problems = {tuple(p["loc"]): p["msg"] for p in refused.value.details}
    assert "needs chain L, which the custom framework does not have" in problems[("design_loops",)]
    with pytest.raises(ValueError, match="settings.seqs_per_struct\n.*greater than or equal to 1"):
        request(settings={"seqs_per_struct": 0})


def test_framework_pdb_goes_with_custom_only():
    with pytest.raises(ValueError, match="framework_pdb exactly when framework is custom"):
        request(framework="nanobody")
    with pytest.raises(ValueError, match="framework_pdb exactly when framework is custom"):
        request(framework_pdb=None)


# --- the plan -----------------------------------------------------------------------------------


def test_job_size_follows_the_cost_figures_and_the_settings():
    assert plan.designs_per_job(RfantibodyParams(hotspots="T1")) == 10  # the spec's default job
    heavy = RfantibodyParams(hotspots="T1", seqs_per_struct=16, num_recycles=30)
    assert plan.designs_per_job(heavy) == 1  # 60 + 16 × 45 s = 780 s each
    short_budget = RfantibodyParams(hotspots="T1", timeout_s=600)
    assert plan.designs_per_job(short_budget) == 2  # half of 600 s at 120 s each
    runs = plan.runs(205, 10, seed=7)
    assert len(runs) == 21 and sum(r.num_designs for r in runs) == 205 and runs[-1].num_designs == 5
    assert len({r.seed for r in runs}) == 21 and len({r.tag for r in runs}) == 21
    numbers = [n for r in runs for n in range(r.first_design, r.first_design + r.num_designs)]
    assert numbers == list(range(205))  # every design number once: tags never repeat across jobs


# --- jobs carry no ligand -----------------------------------------------------------------------


def test_design_jobs_have_no_ligand_fields_and_ligand_jobs_no_design():
    run = DesignRun(tag="run-0001", first_design=10, num_designs=10, seed=5)
    design = Job(job_id="j", batch_id="b", kind="design", index=1, shard=0, design=run, input_hash="h")
    dumped = design.model_dump()
    assert not {"ligand_name", "smiles", "canonical_smiles", "inchikey"} & set(dumped)
    assert dumped["design"] == run.model_dump() and json.loads(design.model_dump_json())["kind"] == "design"
    assert Job.model_validate(dumped) == design
    ligand = Job(job_id="j", batch_id="b", index=0, shard=0, ligand_name="x", smiles="C", canonical_smiles="C",
                 inchikey="k", input_hash="h")  # fmt: skip
    assert "design" not in ligand.model_dump() and ligand.model_dump()["smiles"] == "C"


# --- the stand-in, the table, FASTA and the report ----------------------------------------------


def stand_in_result(first: int = 10, designs: int = 3) -> tuple[dict, RfantibodyParams]:
    params = RfantibodyParams(hotspots="T305,T456", framework_pdb=FRAMEWORK, seqs_per_struct=2, return_structures="all")
    task = LigandTask(job_id="j1", index=1, name="run-0001", design=DesignRun(tag="run-0001", first_design=first,
                      num_designs=designs, seed=3))  # fmt: skip
    prediction = RFAntibody(runner=standin_runner, install=Install(), stand_in=True).predict(
        ProteinIn(sequence="KLDVYAFGWLE", structure=TARGET), task, params
    )
    files = {name: f"gs://r/{name}" for name in prediction.files}
    return {"raw": prediction.raw, "files": files, "log": prediction.log}, params


def test_stand_in_writes_the_tools_formats_and_says_it_is_a_stand_in():
    result, _ = stand_in_result()
    designs = result["raw"]["designs"]
    assert [d["tag"] for d in designs][:2] == ["samples_design_10_dldesign_0_best", "samples_design_10_dldesign_1_best"]
    assert {d["backbone_tag"] for d in designs} == {"samples_design_10", "samples_design_11", "samples_design_12"}
    assert all(d["status"] == "predicted" and d["cdr_H3"] for d in designs)
    assert "stand_in" in result["raw"]["tool"] and "not RFantibody output" in result["raw"]["tool"]["stand_in"]
    assert BANNER in result["log"] and "--extra inference.design_startnum=10" in result["log"]
    assert "commit" not in result["raw"]["tool"]


def test_stand_in_quivers_parse_with_the_adapters_parser(tmp_path):
    framework, target = tmp_path / "f.pdb", tmp_path / "t.pdb"
    framework.write_text(FRAMEWORK)
    target.write_text(TARGET)
    out = tmp_path / "1.qv"
    argv = ["rfdiffusion", "--target", str(target), "--framework", str(framework), "--output-quiver", str(out),
            "--num-designs", "2", "--hotspots", "T305", "--extra", "inference.design_startnum=4"]  # fmt: skip
    assert standin_runner(argv, cwd=tmp_path, env={}, timeout_s=10).returncode == 0
    entries = parse_quiver(out.read_text())
    assert [e.tag for e in entries] == ["samples_design_4", "samples_design_5"]
    assert set(entries[0].scores) == {"mindist", "averagemin"}
    assert "REMARK PDBinfo-LABEL:   12 H3" in entries[0].pdb
    rf2_in, rf2_out = tmp_path / "2.qv", tmp_path / "3.qv"
    argv = ["proteinmpnn", "--input-quiver", str(out), "--output-quiver", str(rf2_in), "--seqs-per-struct", "1"]
    standin_runner(argv, cwd=tmp_path, env={}, timeout_s=10)
    standin_runner(
        ["rf2", "--input-quiver", str(rf2_in), "--output-quiver", str(rf2_out)], cwd=tmp_path, env={}, timeout_s=10
    )
    scored = parse_quiver(rf2_out.read_text())
    assert list(scored[0].scores) == list(RF2_KEYS) and scored[0].scores["framework_aligned_L1_rmsd"] is None


def test_designs_table_sorts_filters_and_exports():
    result, _ = stand_in_result()
    rows = table.job_rows("j1", "run-0001", result, "/v1/batches/b/jobs/j1/files/{name}")
    assert len(rows) == 6 and all(r["job_id"] == "j1" and r["run"] == "run-0001" and r["stand_in"] for r in rows)
    row = rows[0]
    assert row["structure"] == f"/v1/batches/b/jobs/j1/files/{row['tag']}.pdb"
    assert row["filter_rosetta_ddg"] is None and row["rosetta_ddg"] is None
    assert row["full_sequence"] == row["heavy_sequence"] and row["light_sequence"] is None
    ordered = table.select(rows, order_by="interaction_pae")
    values = [r["interaction_pae"] for r in ordered]
    assert values == sorted(values)
    assert table.select(rows, order_by="interaction_pae", descending=True)[0]["interaction_pae"] == max(values)
    passing = table.select(rows, flags={"passes_filters": True})
    assert all(r["filter_rf2_pae"] and r["filter_design_rf2_rmsd"] for r in passing)
    assert all(r["interaction_pae"] <= 9 for r in table.select(rows, ranges=[("interaction_pae", "<=", 9.0)]))
    with pytest.raises(table.TableQueryError, match="order_by=heavy_sequence: not a numeric column"):
        table.select(rows, order_by="heavy_sequence")
    exported = list(csv.DictReader(io.StringIO(table.to_csv(ordered).decode("utf-8-sig"))))
    assert [r["tag"] for r in exported] == [r["tag"] for r in ordered] and "filter_rf2_pae" in exported[0]
    fasta = table.passing_fasta(rows)
    assert fasta.count(">") == len(passing)
    for r in passing:
        assert f">{r['tag']}|H " in fasta and r["heavy_sequence"] in fasta
    assert not any(f">{r['tag']}|" in fasta for r in rows if not r["passes_filters"])


def test_report_draws_the_best_designs_with_antibody_and_epitope_highlighted():
    result, _ = stand_in_result()
    rows = table.select(table.job_rows("j1", "run-0001", result, "/x/{name}"), order_by="interaction_pae")
    pdb = "".join(
        line + "\n" for line in TARGET.splitlines() if line.startswith("ATOM")
    )  # a complex is H/L then the target
    header = {"batch_id": "b1", "model": "rfantibody", "model_version": "v", "status": "completed",
              "succeeded": 1, "failed": 0, "total": 1, "target_chain": "T", "hotspots": ["T305", "T456"]}  # fmt: skip
    page = report.render(header, rows, [(rows[0], pdb)], positions=[2, 8])
    assert "$3Dmol.createViewer" in page and report.THREE_DMOL in page
    data = json.loads(re.search(r'id="d0">(.*?)</script>', page).group(1))
    assert data["target_chain"] == "T" and data["epitope"] == [305, 456]
    assert "CPU stand-in" in page
    # the table is the designs sorted by interaction pAE, with each filter's flag
    assert page.index(rows[0]["tag"]) < page.index(rows[-1]["tag"])
    assert "<th>rf2_pae</th><th>design_rf2_rmsd</th>" in page and ("✓" in page or "✗" in page)
    for script in re.findall(r"<script>(.*?)</script>", page, re.S):
        assert report.script_source(script) in report.REPORT_POLICY


def test_openapi_documents_post_designs_with_examples():
    doc = document("off")
    post = doc["paths"]["/v1/designs"]["post"]
    examples = post["requestBody"]["content"]["application/json"]["examples"]
    assert {"nanobody", "scfv"} <= set(examples)
    for example in examples.values():
        DesignRequest.model_validate(example["value"])  # the examples are valid requests
    refusal = post["responses"]["422"]["content"]["application/json"]["example"]
    assert any("buried" in d["msg"] for d in refusal["detail"])
    assert {"DesignRequest", "DesignAccepted", "DesignPage", "DesignRow", "PipelineSettings"} <= set(
        doc["components"]["schemas"]
    )
    assert "/v1/designs/{batch_id}/designs" in doc["paths"]


def test_a_ligand_batch_of_rfantibody_is_refused_with_where_to_go():
    from omtx.domain import BatchRequest
    from omtx.usecases.submit import validate as validate_batch

    placeholder = BatchRequest(
        model="rfantibody",
        params={"hotspots": "T305"},
        protein={"sequence": "KLDVYAFGWLE", "structure": TARGET},
        ligands=[{"name": "design", "smiles": "C"}],
    )
    with pytest.raises(InputError) as refused:
        validate_batch(placeholder, "acme")
    assert [d["loc"] for d in refused.value.details] == [["model"]]
    assert "POST /v1/designs" in refused.value.details[0]["msg"]
