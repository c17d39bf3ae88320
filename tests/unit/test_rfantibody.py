"""The RFantibody adapter on fixtures shaped as the tools write them (tests/fixtures/rfantibody)."""

import csv
import importlib
import io
import json
import math
import os
import time
import warnings
from pathlib import Path

import pytest
from pydantic import ValidationError

from omtx.domain import ProteinIn
from omtx.predictors.base import LigandTask, PredictionFailed
from omtx.predictors.rfantibody import GPU, SPEC, RFAntibody, StepRun, check_structure, subprocess_runner
from omtx.predictors.rfantibody.commands import (
    Install,
    Layout,
    proteinmpnn_command,
    rf2_command,
    rfdiffusion_command,
    tool_env,
)
from omtx.predictors.rfantibody.filters import apply_filters, filter_definition
from omtx.predictors.rfantibody.inputs import (
    Hotspot,
    InputProblem,
    LoopSpec,
    check_target,
    parse_hotspots,
    parse_loops,
    summarize_pdb,
)
from omtx.predictors.rfantibody.outputs import (
    RF2_KEYS,
    OutputProblem,
    base_tags,
    error_line,
    known_error,
    mpnn_failures,
    parse_pdb_scores,
    parse_quiver,
    parse_scorefile,
)
from omtx.predictors.rfantibody.params import RfantibodyParams

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "rfantibody"
TARGET = (FIX / "inputs" / "target.pdb").read_text()
FRAMEWORK = (FIX / "inputs" / "framework_nanobody.pdb").read_text()
ROOT, WEIGHTS = Path("/opt/rfantibody"), Path("/weights")


def read(name: str) -> str:
    return (FIX / name).read_text()


def params(**changes) -> RfantibodyParams:
    values = {"hotspots": "T305,T456", "design_loops": "H1:3,H2:2,H3:3-4", "num_designs": 2, "seqs_per_struct": 2}
    return RfantibodyParams(**(values | changes))


def protein(structure: str | None = TARGET) -> ProteinIn:
    return ProteinIn(sequence="KLDVYAFGWLE", structure=structure)


def task(index: int = 0) -> LigandTask:
    return LigandTask(job_id="job-1", index=index, name="run-1", canonical_smiles="C")


# --- parameters ---------------------------------------------------------------------------------


def test_defaults_follow_the_readme_per_framework():
    nanobody = RfantibodyParams(hotspots="T305, T456")
    assert nanobody.hotspots == "T305,T456"
    assert nanobody.design_loops == "H1:7,H2:6,H3:5-13"
    assert nanobody.num_designs == 10 and nanobody.seqs_per_struct == 4 and nanobody.mpnn_temperature == 0.2
    assert nanobody.num_recycles == 10 and nanobody.hotspot_show_prop == 0.1
    assert (nanobody.max_pae, nanobody.pae_metric, nanobody.max_rmsd) == (10.0, "pae", 2.0)
    scfv = RfantibodyParams(framework="scfv", hotspots="T305")
    assert scfv.design_loops == "H1:7,H2:6,H3:5-13,L1:8-13,L2:7,L3:9-11"
    assert scfv.loops[3] == LoopSpec("L1", 8, 13)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"hotspots": "305"}, "not a chain letter followed by a residue number"),
        ({"hotspots": "T305,T305"}, "listed twice"),
        ({"hotspots": " "}, r"comma-separated chain\+residue number"),
        ({"hotspots": "T305,,T456"}, r"comma-separated chain\+residue number"),
        ({"design_loops": "H4:3"}, "NAME:, NAME:N or NAME:N-M"),
        ({"design_loops": "H3:9-5"}, "runs backwards"),
        ({"design_loops": "H3:0"}, "lengths must be 1–30"),
        ({"design_loops": "H1:7,h1:8"}, "H1 is listed twice"),
        ({"design_loops": "H1:7,L1:8"}, "needs chain L, which the nanobody framework does not have"),
        ({"num_designs": 0}, "greater than or equal to 1"),
        ({"mpnn_temperature": 0}, "greater than 0"),
        ({"seed": 1}, "Extra inputs are not permitted"),
    ],
)
def test_invalid_parameters_say_what_to_change(changes, message):
    with pytest.raises(ValidationError, match=message):
        params(**changes)


def test_custom_framework_defaults_to_its_labelled_loops():
    p = RfantibodyParams(hotspots="T305", framework_pdb=FRAMEWORK)
    assert p.design_loops == "H1:,H2:,H3:"
    assert [loop.name for loop in p.loops] == ["H1", "H2", "H3"]
    with pytest.raises(ValidationError, match="needs chain L"):
        RfantibodyParams(hotspots="T305", framework_pdb=FRAMEWORK, design_loops="L3:9")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: "".join(line for line in t.splitlines(True) if not line.startswith("REMARK")), "no REMARK"),
        (lambda t: t.replace(" H   1 ", " T   1 "), "only chains H and L; found T"),
        (lambda t: t.replace("REMARK PDBinfo-LABEL:   12 H3", "REMARK PDBinfo-LABEL:   99 H3"), "past its 14"),
        (lambda t: t.replace("12 H3", "12 H4"), "unknown loops: H4"),
    ],
)
def test_a_bad_custom_framework_is_refused(edit, message):
    with pytest.raises(ValidationError, match=message):
        RfantibodyParams(hotspots="T305", framework_pdb=edit(FRAMEWORK))


def test_loop_and_hotspot_grammars_round_trip():
    assert parse_hotspots("T305,B146") == (Hotspot("T", 305), Hotspot("B", 146))
    loops = parse_loops("h1:7,H2:,H3:5-13,L3:9-9")
    assert loops == (LoopSpec("H1", 7), LoopSpec("H2"), LoopSpec("H3", 5, 13), LoopSpec("L3", 9))
    assert ",".join(str(loop) for loop in loops) == "H1:7,H2:,H3:5-13,L3:9"


# --- target checks ------------------------------------------------------------------------------


def test_target_summary_and_hotspots():
    summary = check_target(TARGET, parse_hotspots("T305,T456"))
    assert summary.chains == ("T",)
    assert summary.sequence("T") == "KLDVYAFGWLE"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (TARGET, r"T999 are not residues of the target \(chains: T\)"),
        ("data_1abc\n_atom_site.id\n", "PDB targets only"),
        ("HEADER\nEND\n", "no ATOM records"),
        (TARGET + "REMARK PDBinfo-LABEL:    3 H1\n", "REMARK PDBinfo-LABEL"),
        (TARGET.replace("LYS T 303", "XYZ T 303"), "cannot read: XYZ"),
    ],
)
def test_bad_targets_are_refused_before_any_gpu(text, message):
    with pytest.raises(InputProblem, match=message):
        check_target(text, parse_hotspots("T305,T999" if text is TARGET else "T305"))


def test_oversized_target_is_refused():
    line = "ATOM  %5d  CA  ALA T%4d       0.000   0.000   0.000  1.00  0.00           C  \n"
    big = "".join(line % (i, i) for i in range(1, 1002))
    with pytest.raises(InputProblem, match="1001 residues; truncate"):
        check_target(big, parse_hotspots("T5"))


# --- commands -----------------------------------------------------------------------------------


def test_commands_use_the_repository_clis_and_quivers():
    p = params(deterministic=True, rf2_seed=7)
    install, layout = Install(ROOT, WEIGHTS), Layout(Path("/work"))
    framework = install.framework("nanobody")
    assert framework == ROOT / "scripts/examples/example_inputs/h-NbBCII10.pdb"
    assert rfdiffusion_command(p, install, layout, framework, 6) == [
        "/opt/rfantibody/.venv/bin/rfdiffusion",
        "--target", "/work/inputs/target.pdb",
        "--framework", str(framework),
        "--output-quiver", "/work/1_rfdiffusion.qv",
        "--num-designs", "2",
        "--design-loops", "H1:3,H2:2,H3:3-4",
        "--hotspots", "T305,T456",
        "--diffuser-t", "50",
        "--no-trajectory",
        "--weights", "/weights/RFdiffusion_Ab.pt",
        "--extra", "inference.design_startnum=6",
        "--deterministic",
    ]  # fmt: skip
    assert proteinmpnn_command(p, install, layout) == [
        "/opt/rfantibody/.venv/bin/proteinmpnn",
        "--input-quiver", "/work/1_rfdiffusion.qv",
        "--output-quiver", "/work/2_proteinmpnn.qv",
        "--loops", "H1,H2,H3",
        "--seqs-per-struct", "2",
        "--temperature", "0.2",
        "--weights", "/weights/ProteinMPNN_v48_noise_0.2.pt",
        "--deterministic",
    ]  # fmt: skip
    assert rf2_command(p, install, layout) == [
        "/opt/rfantibody/.venv/bin/rf2",
        "--input-quiver", "/work/2_proteinmpnn.qv",
        "--output-quiver", "/work/3_rf2.qv",
        "--num-recycles", "10",
        "--hotspot-show-prop", "0.1",
        "--weights", "/weights/RF2_ab.pt",
        "--seed", "7",
    ]  # fmt: skip


def test_without_an_install_the_tools_come_from_path():
    bare = rf2_command(params(), Install(), Layout(Path("/w")))
    assert bare[0] == "rf2" and "--weights" not in bare and "--seed" not in bare
    assert Install.from_env({"RFANTIBODY_ROOT": "/r", "RFANTIBODY_WEIGHTS": "/w"}) == Install(Path("/r"), Path("/w"))
    assert Install.from_env({}) == Install()


def test_tool_env_puts_the_checkout_venv_first_for_the_wrappers_bare_python():
    base = {"PATH": "/usr/bin", "HOME": "/root"}
    env = tool_env(Install(ROOT, WEIGHTS), base)
    assert env["PATH"] == f"/opt/rfantibody/.venv/bin{os.pathsep}/usr/bin"
    assert env["RFANTIBODY_ROOT"] == "/opt/rfantibody" and env["RFANTIBODY_WEIGHTS"] == "/weights"
    assert base == {"PATH": "/usr/bin", "HOME": "/root"}


# --- outputs ------------------------------------------------------------------------------------


def test_quivers_parse_as_written():
    backbones = parse_quiver(read("success/1_rfdiffusion.qv"))
    sequences = parse_quiver(read("success/2_proteinmpnn.qv"))
    predictions = parse_quiver(read("success/3_rf2.qv"))
    assert [b.tag for b in backbones] == ["samples_design_0", "samples_design_1"]
    assert backbones[1].scores == {"mindist": 6.18, "averagemin": 6.46}
    assert [s.tag for s in sequences][:2] == ["samples_design_0_dldesign_0", "samples_design_0_dldesign_1"]
    assert all(s.scores == {} for s in sequences)  # ProteinMPNN writes no QV_SCORE
    first = predictions[0]
    assert first.tag == "samples_design_0_dldesign_0_best"
    assert tuple(first.scores) == RF2_KEYS  # model_runner.py's order
    assert first.scores["interaction_pae"] == 8.12 and first.scores["pred_lddt"] == 0.87
    assert first.scores["framework_aligned_L1_rmsd"] is None  # "nan": a nanobody has no L1
    assert first.lines[0].startswith("ATOM") and first.lines[-1] == "\n"
    assert not any(line.startswith(("QV_", "SCORE")) for line in first.lines)


def test_three_spellings_of_rf2_scores_agree():
    quiver = {e.tag: e for e in parse_quiver(read("success/3_rf2.qv"))}
    table = parse_scorefile(read("success/3_rf2.sc"))
    assert table == {tag: e.scores for tag, e in quiver.items()}
    pdb = read("success/samples_design_1_dldesign_1_best.pdb")
    entry = quiver["samples_design_1_dldesign_1_best"]
    assert parse_pdb_scores(pdb) == entry.scores
    # qvextract's PDB is RF2's PDB output without its SCORE lines
    unscored = "".join(line for line in pdb.splitlines(True) if not line.startswith("SCORE"))
    assert entry.pdb.rstrip("\n") == unscored.rstrip("\n")


def test_design_sequences_and_cdrs_come_from_the_hlt_remarks():
    entry = parse_quiver(read("success/3_rf2.qv"))[3]
    summary = summarize_pdb(entry.lines)
    assert summary.chains == ("H", "T")
    assert summary.sequence("H") == "QVWTFESGGRYDLAS"
    assert (summary.loop_sequence("H1"), summary.loop_sequence("H2"), summary.loop_sequence("H3")) == (
        "WTF",
        "SG",
        "RYDL",
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (read("failures/3_rf2_malformed.qv"), "'pred_lddt' is not key=value"),
        ("ATOM\nQV_TAG a\n", "content before the first QV_TAG"),
        ("QV_TAG a\nQV_SCORE b x=1\n", "does not belong"),
        ("QV_TAG a\nQV_TAG a\n", "appears twice"),
        ("QV_TAG a\nQV_SCORE a x=high\n", "not a number"),
    ],
)
def test_unreadable_quivers_raise(text, message):
    with pytest.raises(OutputProblem, match=message):
        parse_quiver(text)


def test_tags_link_the_three_steps():
    assert base_tags("samples_design_12_dldesign_3_best") == ("samples_design_12_dldesign_3", "samples_design_12")


def test_failure_patterns_in_the_tools_output():
    assert (known_error(read("failures/rf2_oom.log")) or "").startswith("GPU out of memory")
    assert "non-positive determinant" in (known_error(read("failures/rfdiffusion_bad_target.log")) or "")
    assert known_error(read("failures/rf2_missing_weights.log")) == "model weights are missing"
    # a backbone ProteinMPNN skipped is a partial failure, not the job's
    assert known_error(read("failures/proteinmpnn_partial.log")) is None
    assert mpnn_failures(read("failures/proteinmpnn_partial.log")) == {
        "samples_design_1": "<class 'torch.cuda.OutOfMemoryError'>"
    }
    assert known_error(read("success/rf2.log")) is None
    # the exception, not Hydra's closing hint
    assert error_line(read("failures/rf2_crash.log")).startswith("RuntimeError: The size of tensor a (25)")
    assert error_line("") == "(no output)"


# --- filters ------------------------------------------------------------------------------------


def test_filters_are_strict_and_never_pass_missing_data():
    p = params()
    scores = {"pae": 6.31, "target_aligned_antibody_rmsd": 1.21}
    assert [c.passed for c in apply_filters(scores, p)] == [True, True]
    assert [c.passed for c in apply_filters({"pae": 10.0, "target_aligned_antibody_rmsd": 2.0}, p)] == [False, False]
    missing = apply_filters({"pae": 6.31, "target_aligned_antibody_rmsd": None}, p)
    assert missing[1].value is None and not missing[1].passed
    switched = apply_filters({"pae": 6.0, "interaction_pae": 12.0}, params(pae_metric="interaction_pae"))
    assert switched[0].as_dict() == {
        "name": "rf2_pae",
        "metric": "interaction_pae",
        "op": "<",
        "threshold": 10.0,
        "value": 12.0,
        "passed": False,
    }
    definition = filter_definition(p)
    assert "Filtering Strategies" in definition["source"]
    assert definition["not_evaluated"][0]["name"] == "rosetta_ddg"


# --- the predictor, with a runner that plays the tools back from fixtures ------------------------


class Tools:
    """Plays each CLI back: its exit status, its printed output, the Quiver it writes."""

    def __init__(self, **plan: tuple[int, str, str | None]) -> None:
        defaults = {
            "rfdiffusion": (0, "success/rfdiffusion.log", "success/1_rfdiffusion.qv"),
            "proteinmpnn": (0, "success/proteinmpnn.log", "success/2_proteinmpnn.qv"),
            "rf2": (0, "success/rf2.log", "success/3_rf2.qv"),
        }
        self.plan = defaults | plan
        self.calls: list[tuple[list[str], Path, dict[str, str]]] = []

    def __call__(self, argv, *, cwd, env, timeout_s):
        self.calls.append((list(argv), cwd, dict(env)))
        code, log, quiver = self.plan[Path(argv[0]).name]
        if quiver is not None:
            Path(argv[argv.index("--output-quiver") + 1]).write_text(read(quiver))
        return StepRun(code, read(log))

    @property
    def tools(self) -> list[str]:
        return [Path(argv[0]).name for argv, _, _ in self.calls]


def predictor(tools: Tools) -> RFAntibody:
    return RFAntibody(runner=tools, install=Install(ROOT, WEIGHTS), env={"PATH": "/usr/bin"})


def test_a_design_job_runs_three_steps_and_records_the_filters():
    tools = Tools()
    result = predictor(tools).predict(protein(), task(index=3), params())
    assert tools.tools == ["rfdiffusion", "proteinmpnn", "rf2"]
    rfdiffusion, workdir, env = tools.calls[0]
    assert "inference.design_startnum=6" in rfdiffusion  # job 3 of 2 designs each
    assert (workdir / "inputs" / "target.pdb").name == "target.pdb"
    assert env["PATH"].startswith("/opt/rfantibody/.venv/bin")
    m = result.metrics
    assert (m["backbones"], m["sequences"], m["predicted"], m["passing"]) == (2, 4, 4, 2)
    assert m["pass_rate"] == 0.5 and m["mpnn_failed_backbones"] == 0
    assert m["best_tag"] == "samples_design_1_dldesign_1_best" and m["best_passes_filters"] is True
    assert (m["best_interaction_pae"], m["best_pae"], m["best_pred_lddt"]) == (7.66, 5.98, 0.89)
    assert m["best_target_aligned_antibody_rmsd"] == 0.93
    assert m["best_heavy_sequence"] == "QVWTFESGGRYDLAS" and m["best_light_sequence"] is None
    assert SPEC.primary_metric in m
    # PoseBusters at the interface of the best design (its fixture binder is 12 Å from the target)
    assert m["pb_valid"] is False and m["pb_failed"] == ["protein-ligand_maximum_distance"]
    assert SPEC.structure is not None and SPEC.structure.file_for(m) == "samples_design_1_dldesign_1_best.pdb"
    rows = {r["tag"]: r for r in result.raw["designs"]}
    assert [rows[t]["passes_filters"] for t in sorted(rows)] == [True, False, False, True]
    failing = rows["samples_design_1_dldesign_0_best"]
    assert [c["passed"] for c in failing["filters"]] == [True, False]  # pAE 7.95 passes, RMSD 2.47 does not
    assert failing["mindist"] == 6.18 and failing["cdr_H3"] == "RWDY"
    assert result.raw["tool"]["commit"].startswith("8fe3114")
    assert [(s["step"], s["exit"]) for s in result.raw["steps"]] == [("rfdiffusion", 0), ("proteinmpnn", 0), ("rf2", 0)]
    json.dumps(result.raw, allow_nan=False)
    assert sorted(result.files) == [
        "designs.csv",
        "samples_design_0_dldesign_0_best.pdb",
        "samples_design_1_dldesign_1_best.pdb",
    ]
    pdb, media = result.files["samples_design_1_dldesign_1_best.pdb"]
    assert media == "chemical/x-pdb" and pdb.decode().startswith("ATOM      1  N   GLN H   1")
    table = list(csv.DictReader(io.StringIO(result.files["designs.csv"][0].decode("utf-8-sig"))))
    assert len(table) == 4 and table[0]["tag"] == "samples_design_0_dldesign_0_best"
    assert table[0]["framework_aligned_L1_rmsd"] == "" and table[0]["passes_filters"] == "True"
    assert "$ /opt/rfantibody/.venv/bin/rf2 --input-quiver" in result.log
    assert "[RF2] Completed: samples_design_1_dldesign_1" in result.log


@pytest.mark.parametrize(("which", "pdbs"), [("all", 4), ("best", 1), ("passing", 2)])
def test_which_structures_are_stored(which, pdbs):
    result = predictor(Tools()).predict(protein(), task(), params(return_structures=which))
    assert sum(name.endswith(".pdb") for name in result.files) == pdbs


def test_stricter_rmsd_filter_leaves_one_design():
    result = predictor(Tools()).predict(protein(), task(), params(max_rmsd=1.0))
    assert result.metrics["passing"] == 1
    assert result.metrics["best_tag"] == "samples_design_1_dldesign_1_best"


def test_backbones_proteinmpnn_skipped_are_counted_not_fatal():
    tools = Tools(
        proteinmpnn=(0, "failures/proteinmpnn_partial.log", "failures/2_proteinmpnn_partial.qv"),
        rf2=(0, "success/rf2.log", "failures/3_rf2_partial.qv"),
    )
    result = predictor(tools).predict(protein(), task(), params())
    m = result.metrics
    assert (m["backbones"], m["sequences"], m["predicted"], m["mpnn_failed_backbones"]) == (2, 2, 2, 1)
    assert result.raw["mpnn_failed_backbones"] == {"samples_design_1": "<class 'torch.cuda.OutOfMemoryError'>"}


def test_sequences_rf2_did_not_predict_are_marked():
    result = predictor(Tools(rf2=(0, "success/rf2.log", "failures/3_rf2_partial.qv"))).predict(
        protein(), task(), params()
    )
    statuses = {r["tag"]: r["status"] for r in result.raw["designs"]}
    assert list(statuses.values()) == ["predicted", "predicted", "not_predicted", "not_predicted"]
    assert result.metrics["predicted"] == 2


@pytest.mark.parametrize(
    ("plan", "message", "ran"),
    [
        (
            {"rfdiffusion": (1, "failures/rfdiffusion_bad_target.log", None)},
            "rfdiffusion: the target has residues with missing or degenerate backbone atoms .*: "
            "ValueError: Non-positive determinant",
            ["rfdiffusion"],
        ),
        (
            {"rfdiffusion": (0, "success/rfdiffusion.log", None)},
            "rfdiffusion exited 0 but wrote no 1_rfdiffusion.qv",
            ["rfdiffusion"],
        ),
        (
            {"proteinmpnn": (0, "failures/proteinmpnn_all_failed.log", None)},
            r"proteinmpnn exited 0 but wrote no 2_proteinmpnn.qv "
            r"\(every backbone failed, e.g. <class 'AssertionError'>\)",
            ["rfdiffusion", "proteinmpnn"],
        ),
        ({"rf2": (1, "failures/rf2_oom.log", None)}, "rf2: GPU out of memory", None),
        ({"rf2": (1, "failures/rf2_missing_weights.log", None)}, "rf2: model weights are missing", None),
        (
            {"rf2": (1, "failures/rf2_crash.log", None)},
            r"rf2 exited with status 1: RuntimeError: The size of tensor a \(25\)",
            None,
        ),
        ({"rf2": (0, "success/rf2.log", "failures/3_rf2_empty.qv")}, "rf2 wrote no designs to 3_rf2.qv", None),
        ({"rf2": (0, "success/rf2.log", "failures/3_rf2_malformed.qv")}, "rf2 wrote an unreadable 3_rf2.qv", None),
    ],
)
def test_tool_failures_fail_the_job_with_the_reason(plan, message, ran):
    tools = Tools(**plan)
    with pytest.raises(PredictionFailed, match=message):
        predictor(tools).predict(protein(), task(), params())
    assert tools.tools == (ran or ["rfdiffusion", "proteinmpnn", "rf2"])


def test_a_step_past_the_budget_fails_the_job():
    def slow(argv, *, cwd, env, timeout_s):
        return StepRun(-9, "", timed_out=True)

    with pytest.raises(PredictionFailed, match=r"rfdiffusion timed out \(the job's budget is 3600 s\)"):
        RFAntibody(runner=slow, install=Install()).predict(protein(), task(), params())


def test_bad_targets_never_reach_the_tools():
    tools = Tools()
    with pytest.raises(PredictionFailed, match="needs the target structure"):
        predictor(tools).predict(protein(None), task(), params())
    with pytest.raises(PredictionFailed, match="target: hotspot"):
        predictor(tools).predict(protein(), task(), params(hotspots="T305,T999"))
    assert tools.calls == []


def test_submit_time_structure_check():
    assert check_structure(protein(), params()) is None
    assert "T999" in (check_structure(protein(), params(hotspots="T999")) or "")


def test_custom_framework_is_written_beside_the_target():
    tools = Tools()
    predictor(tools).predict(protein(), task(), params(framework_pdb=FRAMEWORK, design_loops="H3:3-4"))
    argv, workdir, _ = tools.calls[0]
    assert argv[argv.index("--framework") + 1] == str(workdir / "inputs" / "framework.pdb")
    assert tools.calls[1][0][tools.calls[1][0].index("--loops") + 1] == "H3"


def test_spec():
    assert SPEC.name == "rfantibody" and SPEC.version == "rfantibody-8fe3114"
    assert SPEC.params is RfantibodyParams and SPEC.modal_target == "RFAntibody.run"
    assert SPEC.chunk_size == 1 and SPEC.hardware == GPU == SPEC.cost.hardware
    assert SPEC.needs_structure and SPEC.check_structure == "omtx.predictors.rfantibody:check_structure"
    module, _, attr = SPEC.predictor.partition(":")
    assert isinstance(getattr(importlib.import_module(module), attr)(), RFAntibody)
    assert SPEC.cost.usd_per_second == 0.000694 and not SPEC.higher_is_better


# --- the default runner -------------------------------------------------------------------------


def test_subprocess_runner_interleaves_output_and_keeps_the_status(tmp_path):
    run = subprocess_runner(
        ["sh", "-c", "echo out; echo err >&2; exit 3"], cwd=tmp_path, env=dict(os.environ), timeout_s=10
    )
    assert run.returncode == 3 and "out" in run.output and "err" in run.output and not run.timed_out
    missing = subprocess_runner(["/nonexistent/rf2"], cwd=tmp_path, env={}, timeout_s=10)
    assert missing.returncode == 127


def test_subprocess_runner_kills_the_wrappers_children_on_timeout(tmp_path):
    # the CLI wrappers start the real script as a child: the whole group must go
    started = time.monotonic()
    run = subprocess_runner(
        ["sh", "-c", "sleep 30 & echo started; wait"], cwd=tmp_path, env=dict(os.environ), timeout_s=0.5
    )
    assert run.timed_out and "started" in run.output
    assert time.monotonic() - started < 10


# --- Modal --------------------------------------------------------------------------------------


def test_modal_class_registers_on_the_app_and_runs_locally(monkeypatch, tmp_path):
    import modal

    from modal_gpu import rfantibody as worker_module
    from modal_gpu.common import app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # registered_* are deprecated in modal 1.6, still the offline view
        assert "RFAntibody" in app.registered_classes
        assert "fetch_rfantibody_weights" in app.registered_functions
    assert isinstance(worker_module.RFAntibody, modal.Cls)
    for name in ("RFdiffusion_Ab.pt", "ProteinMPNN_v48_noise_0.2.pt", "RF2_ab.pt"):
        (tmp_path / name).write_bytes(b"w")
    monkeypatch.setenv("RFANTIBODY_WEIGHTS", str(tmp_path))
    import omtx.worker

    orders = []
    monkeypatch.setattr(omtx.worker, "run_work_order_json", lambda order: orders.append(order) or 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "executing locally ... will not have access to the mounted Volume"
        assert worker_module.RFAntibody().run.local('{"order": 1}') == 1
    assert orders == ['{"order": 1}']


def test_weights_download_lands_complete_files_only(monkeypatch, tmp_path):
    from modal_gpu import rfantibody as worker_module

    (tmp_path / "RF2_ab.pt").write_bytes(b"have")
    urls = []

    def urlopen(url, timeout):
        urls.append(url)
        return io.BytesIO(b"weights")

    monkeypatch.setattr("urllib.request.urlopen", urlopen)
    assert worker_module.missing_weights(tmp_path) == ["RFdiffusion_Ab.pt", "ProteinMPNN_v48_noise_0.2.pt"]
    assert worker_module.download_weights(tmp_path) == ["RFdiffusion_Ab.pt", "ProteinMPNN_v48_noise_0.2.pt"]
    assert urls == [
        "https://files.ipd.uw.edu/pub/RFantibody/RFdiffusion_Ab.pt",
        "https://files.ipd.uw.edu/pub/RFantibody/ProteinMPNN_v48_noise_0.2.pt",
    ]
    assert worker_module.missing_weights(tmp_path) == [] and not list(tmp_path.glob(".*.partial"))
    assert (tmp_path / "RF2_ab.pt").read_bytes() == b"have"


def test_nan_never_reaches_results():
    result = predictor(Tools()).predict(protein(), task(), params())
    values = [v for row in result.raw["designs"] for v in row.values() if isinstance(v, float)]
    assert values and not any(math.isnan(v) for v in values)


def test_rf2_entries_without_scores_fail_the_job():
    from omtx.predictors.rfantibody.predictor import prediction
    from omtx.predictors.rfantibody.results import design_rows

    unscored = "".join(line for line in read("success/3_rf2.qv").splitlines(True) if not line.startswith("QV_SCORE"))
    designs = design_rows(
        parse_quiver(read("success/1_rfdiffusion.qv")),
        parse_quiver(read("success/2_proteinmpnn.qv")),
        parse_quiver(unscored),
        params(),
        {},
    )
    assert {r["status"] for r in designs.rows} == {"no_scores"}
    assert not any(r["passes_filters"] for r in designs.rows)
    with pytest.raises(PredictionFailed, match="RF2 reported no scores for any design"):
        prediction(designs, params(), "", [])
