"""Boltz-2: input builders, the output parser and log diagnosis on recorded-format fixtures
(tests/fixtures/boltz2/runs, see generate.py there), the MSA cache rule, and predict_chunk end to
end with `boltz predict` replaced by a stand-in that lays down a fixture run."""

import json
import os
import shutil
import stat
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from omtx.domain import ProteinIn
from omtx.predictors.base import ChunkPredictor, LigandTask, Prediction, PredictionFailed
from omtx.predictors.boltz2 import SPEC, Boltz2Params, Boltz2Predictor, create, ligand_problem
from omtx.predictors.boltz2.inputs import ligand_yaml, predict_command, results_dir
from omtx.predictors.boltz2.msa import a3m_depth, a3m_query, boltz2_msa, boltz2_msa_name
from omtx.predictors.boltz2.outputs import RunLog, diagnose, parse_record, record_finished
from omtx.predictors.boltz2.tool import SIDECAR, ToolProcess, colabfold_a3m, missing_weights, tool_python
from omtx.predictors.ligand_triage import record_stems
from omtx.predictors.msa_cache import cached_msa, sequence_sha256
from omtx.worker import WorkOrder, run_chunk

RUNS = Path(__file__).parents[1] / "fixtures" / "boltz2" / "runs"
SEQUENCE = "MKTAYIAKQR"
PROTEIN = ProteinIn(sequence=SEQUENCE)
ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"
A3M = f">101\n{SEQUENCE}\n>UniRef100_A0A0\nMKTAYIAKQ-\n>UniRef100_B1B1\nMKSAYIAKqrQR\n".encode()


def task(job_id: str, smiles: str = ASPIRIN, index: int = 0) -> LigandTask:
    return LigandTask(job_id=job_id, index=index, name=job_id.removeprefix("j-"), canonical_smiles=smiles)


def predictions(run: str) -> Path:
    return RUNS / run / "boltz_results_inputs" / "predictions"


# --- parameters and inputs -------------------------------------------------------------------


def test_params_defaults_and_bounds():
    params = Boltz2Params()
    assert (params.recycling_steps, params.sampling_steps, params.diffusion_samples) == (3, 200, 1)
    assert params.affinity and params.msa == "colabfold" and params.seed == 42
    with pytest.raises(ValidationError):
        Boltz2Params(diffusion_samples=0)
    with pytest.raises(ValidationError):
        Boltz2Params(recycling_steps=11)
    with pytest.raises(ValidationError):
        Boltz2Params(msa="server")
    with pytest.raises(ValidationError, match="extra"):
        Boltz2Params(use_msa_server=True)


def test_record_stems_are_safe_and_unique():
    stems = record_stems([task("j-1"), task("a/b c.d"), task("a_b_c_d")])
    assert list(stems) == ["j-1", "a_b_c_d", "a_b_c_d_2"]
    assert [t.job_id for t in stems.values()] == ["j-1", "a/b c.d", "a_b_c_d"]


def test_ligand_yaml_points_at_the_shared_msa_by_absolute_path(tmp_path):
    msa = tmp_path / "msa" / "x.a3m"
    smiles = "C[C@H](N)C(=O)O.[Na+]#[Cl-]"  # characters YAML would otherwise read as syntax
    doc = yaml.safe_load(ligand_yaml(SEQUENCE, smiles, msa, affinity=True))
    assert doc == {
        "version": 1,
        "sequences": [
            {"protein": {"id": "A", "sequence": SEQUENCE, "msa": str(msa)}},
            {"ligand": {"id": "B", "smiles": smiles}},
        ],
        "properties": [{"affinity": {"binder": "B"}}],
    }


def test_ligand_yaml_single_sequence_and_no_affinity():
    doc = yaml.safe_load(ligand_yaml(SEQUENCE, ASPIRIN, None, affinity=False))
    assert doc["sequences"][0]["protein"]["msa"] == "empty"
    assert "properties" not in doc
    with pytest.raises(ValueError, match="absolute"):
        ligand_yaml(SEQUENCE, ASPIRIN, Path("msa/x.a3m"), affinity=True)


def test_predict_command_defaults(tmp_path):
    command = predict_command("boltz", tmp_path / "inputs", tmp_path / "out", Boltz2Params())
    assert command[:3] == ["boltz", "predict", str(tmp_path / "inputs")]
    flags = dict(zip(command[3::2], command[4::2], strict=False))
    assert flags["--out_dir"] == str(tmp_path / "out")
    assert flags["--output_format"] == "mmcif" and flags["--accelerator"] == "gpu"
    assert flags["--recycling_steps"] == "3" and flags["--diffusion_samples"] == "1" and flags["--seed"] == "42"
    assert flags["--diffusion_samples_affinity"] == "5" and flags["--sampling_steps_affinity"] == "200"
    assert flags["--preprocessing-threads"] == "4", "not the host's CPU count"
    for absent in ("--use_msa_server", "--override", "--no_kernels", "--use_potentials", "--cache"):
        assert absent not in command


def test_predict_command_options(tmp_path):
    params = Boltz2Params(affinity=False, use_potentials=True, diffusion_samples=5, step_scale=1.2)
    command = predict_command("boltz", tmp_path / "in", tmp_path / "o", params, cache=Path("/w"), use_kernels=False)
    assert "--use_potentials" in command and "--no_kernels" in command
    assert command[command.index("--cache") + 1] == "/w"
    assert command[command.index("--step_scale") + 1] == "1.2"
    assert "--diffusion_samples_affinity" not in command
    mw = predict_command("boltz", tmp_path, tmp_path, Boltz2Params(affinity_mw_correction=True))
    assert "--affinity_mw_correction" in mw
    assert results_dir(Path("/w/out"), Path("/w/inputs")) == Path("/w/out/boltz_results_inputs")


def test_ligand_problem():
    assert ligand_problem(ASPIRIN, affinity=True) is None
    assert "could not parse" in ligand_problem("C1CC", affinity=True)
    big = "C" * 130
    assert "130 heavy atoms" in ligand_problem(big, affinity=True)
    assert ligand_problem(big, affinity=False) is None


# --- outputs ---------------------------------------------------------------------------------


def test_parse_record_with_affinity():
    folder = predictions("chunk") / "j-ok"
    confidence = json.loads((folder / "confidence_j-ok_model_0.json").read_text())
    summary = json.loads((folder / "affinity_j-ok.json").read_text())
    result = parse_record(folder, "j-ok", affinity=True, log="a line\n")
    m = result.metrics
    for key in ("confidence_score", "ptm", "iptm", "ligand_iptm", "protein_iptm", "complex_plddt", "complex_ipde"):
        assert m[key] == pytest.approx(confidence[key], abs=1e-4)
    y = summary["affinity_pred_value"]
    assert m["affinity_pred_value"] == pytest.approx(y, abs=1e-4)
    assert m["affinity_probability_binary"] == pytest.approx(summary["affinity_probability_binary"], abs=1e-4)
    assert m["pic50"] == pytest.approx(6 - y, abs=1e-4)
    assert m["delta_g_kcal"] == pytest.approx(-1.364 * (6 - y), abs=1e-4)
    cif, media_type = result.files["structure.cif"]
    assert media_type == "chemical/x-mmcif" and cif == (folder / "j-ok_model_0.cif").read_bytes()
    assert b"LIG1" in cif and b"HETATM" in cif
    assert result.raw == {"record": "j-ok", "confidence": confidence, "affinity": summary}
    assert "affinity_pred_value1" in result.raw["affinity"]
    assert result.log == "a line\n"
    json.dumps([result.metrics, result.raw])  # the worker stores both as JSON


def test_parse_record_structure_only_takes_rank_0():
    folder = predictions("structure_only") / "j-struct"
    result = parse_record(folder, "j-struct", affinity=False)
    assert "pic50" not in result.metrics and "affinity" not in result.raw
    assert result.files["structure.cif"][0] == (folder / "j-struct_model_0.cif").read_bytes()
    rank0 = json.loads((folder / "confidence_j-struct_model_0.json").read_text())
    assert result.metrics["confidence_score"] == pytest.approx(rank0["confidence_score"], abs=1e-4)


def test_parse_record_refuses_missing_or_malformed_files(tmp_path):
    folder = tmp_path / "j-ok"
    shutil.copytree(predictions("chunk") / "j-ok", folder)
    (folder / "affinity_j-ok.json").write_text('{"affinity_pred_value": 0.1')
    with pytest.raises(PredictionFailed, match="affinity_j-ok.json"):
        parse_record(folder, "j-ok", affinity=True)
    (folder / "confidence_j-ok_model_0.json").write_text(json.dumps({"ptm": 0.5}))
    with pytest.raises(PredictionFailed, match="lacks confidence_score"):
        parse_record(folder, "j-ok", affinity=False)
    with pytest.raises(PredictionFailed, match="confidence"):
        parse_record(tmp_path / "absent", "absent", affinity=False)


def test_record_finished():
    assert record_finished(predictions("chunk") / "j-ok", "j-ok", affinity=True, samples=1)
    # structure there, affinity pass ran out of memory on it
    assert not record_finished(predictions("chunk") / "j-affoom", "j-affoom", affinity=True, samples=1)
    assert record_finished(predictions("chunk") / "j-affoom", "j-affoom", affinity=False, samples=1)
    assert record_finished(predictions("structure_only") / "j-struct", "j-struct", affinity=False, samples=2)
    assert not record_finished(predictions("structure_only") / "j-struct", "j-struct", affinity=False, samples=3)
    assert not record_finished(predictions("chunk") / "j-excluded", "j-excluded", affinity=False, samples=1)


def test_run_log_reads_through_progress_bars():
    log = RunLog.parse((RUNS / "chunk" / "boltz.log").read_text())
    assert log.process_error("j-excluded") == "Molecule is excluded"
    assert log.process_error("j-ok") is None
    assert not any("ran out of memory" in line for line in log.structure_pass)
    # the warning shares its line with a progress bar: searched, not matched at the start
    assert any("| WARNING: ran out of memory" in line for line in log.affinity_pass)
    assert "j-excluded.yaml" in log.mentioning("j-excluded")
    assert log.mentioning("j-ok") == ""
    crash = RunLog.parse((RUNS / "crash" / "boltz.log").read_text())
    assert crash.last_error().startswith("RuntimeError: Failed to download model from all URLs")


@pytest.mark.parametrize(
    ("run", "stem", "processed", "structure", "code", "reason"),
    [
        ("chunk", "j-excluded", False, False, 0, "Boltz-2 could not process the input: Molecule is excluded"),
        ("chunk", "j-affoom", True, True, 0, "ran out of GPU memory in the affinity pass"),
        ("affinity_crash", "j-oom", True, False, 1, "ran out of GPU memory predicting this complex"),
        ("affinity_crash", "j-noaff", True, True, 1, "affinity pass crashed (exit code 1): FileNotFoundError"),
        ("structure_only", "j-oom2", True, False, 0, "ran out of GPU memory predicting this complex"),
        ("no_output", "j-lost", True, False, 0, "Boltz-2 wrote no prediction folder for this ligand"),
        ("crash", "j-a", False, False, 1, "exited with code 1 before this ligand: RuntimeError: Failed to download"),
    ],
)
def test_diagnose(run, stem, processed, structure, code, reason):
    log = RunLog.parse((RUNS / run / "boltz.log").read_text())
    assert reason in diagnose(stem, log, processed=processed, has_structure=structure, exit_code=code)


# --- MSA once per protein ---------------------------------------------------------------------


class DictStore:
    def __init__(self, objects=None):
        self.objects = dict(objects or {})
        self.puts = []

    def get(self, name):
        return self.objects.get(name)

    def put(self, name, data):
        self.puts.append(name)
        self.objects[name] = data
        return f"mem://{name}"


class CountingSearch:
    def __init__(self, result=A3M):
        self.calls = []
        self.result = result

    def __call__(self, sequence):
        self.calls.append(sequence)
        return self.result


def test_a3m_helpers():
    assert a3m_query(A3M) == SEQUENCE
    assert a3m_query(b"# comment\n\x00>101\nmkta\n") == "MKTA"
    assert a3m_query(b">only a header\n") is None
    assert a3m_depth(A3M) == 3


def test_msa_is_computed_once_and_then_read_from_the_cache():
    store, search = DictStore(), CountingSearch()
    assert boltz2_msa(SEQUENCE, store, search) == A3M
    assert boltz2_msa(SEQUENCE, store, search) == A3M
    assert search.calls == [SEQUENCE]
    name = boltz2_msa_name(SEQUENCE)
    assert store.puts == [name]
    assert name == f"boltz2/colabfold/{sequence_sha256(SEQUENCE)}.a3m"
    assert sequence_sha256(SEQUENCE.lower()) == sequence_sha256(SEQUENCE)


def test_a_cached_msa_of_another_sequence_is_replaced():
    name = boltz2_msa_name(SEQUENCE)
    store, search = DictStore({name: b">101\nGGGGGGGGGG\n"}), CountingSearch()
    assert boltz2_msa(SEQUENCE, store, search) == A3M
    assert search.calls == [SEQUENCE] and store.objects[name] == A3M


def test_a_bad_search_result_is_not_cached():
    store = DictStore()
    with pytest.raises(ValueError, match="does not start with its query"):
        cached_msa(SEQUENCE, store, CountingSearch(b"<html>rate limited</html>"), name="x", valid=lambda d, s: False)
    assert store.objects == {}


# --- the installed tool, faked at the process boundary ------------------------------------------


def _script(path: Path, body: str) -> None:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_colabfold_a3m_runs_the_sidecar_with_boltz_s_python(tmp_path, monkeypatch):
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    _script(bin_dir / "boltz", "exit 0\n")
    # the sidecar's arguments: <script> msa <sequence> <out> <url>
    _script(bin_dir / "python", 'printf ">101\\n%s\\n" "$3" > "$4"\n')
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    assert tool_python(str(bin_dir / "boltz")) == bin_dir / "python"
    assert colabfold_a3m(SEQUENCE) == f">101\n{SEQUENCE}\n".encode()
    _script(bin_dir / "python", 'echo "Exception: MMseqs2 API is giving errors" >&2\nexit 1\n')
    with pytest.raises(RuntimeError, match="exit 1.*MMseqs2 API is giving errors"):
        colabfold_a3m(SEQUENCE)


def test_sidecar_drives_boltz_s_own_functions(tmp_path):
    """The script Boltz's interpreter runs, against a stand-in `boltz` package with the two
    functions it calls (boltz.data.msa.mmseqs2.run_mmseqs2, boltz.main.download_boltz2)."""
    fake = tmp_path / "site" / "boltz"
    (fake / "data" / "msa").mkdir(parents=True)
    for init in (fake, fake / "data", fake / "data" / "msa"):
        (init / "__init__.py").touch()
    (fake / "data" / "msa" / "mmseqs2.py").write_text(
        "def run_mmseqs2(x, prefix, use_env=True, use_pairing=False, host_url=''):\n"
        "    assert use_env and not use_pairing\n"
        "    return ['>101\\n' + x[0] + '\\n#' + host_url + '\\n']\n"
    )
    (fake / "main.py").write_text("def download_boltz2(cache):\n    (cache / 'boltz2_conf.ckpt').write_text('w')\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    out = tmp_path / "q.a3m"
    subprocess.run([sys.executable, str(SIDECAR), "msa", SEQUENCE, str(out), "https://x.example"], env=env, check=True)
    assert out.read_text() == f">101\n{SEQUENCE}\n#https://x.example\n"
    subprocess.run([sys.executable, str(SIDECAR), "weights", str(tmp_path / "cache")], env=env, check=True)
    assert (tmp_path / "cache" / "boltz2_conf.ckpt").is_file()


def test_tool_process_logs_and_kills_its_group(tmp_path):
    done = ToolProcess(["sh", "-c", "echo out; echo err >&2; exit 3"], tmp_path / "a.log")
    while done.poll() is None:
        time.sleep(0.01)
    assert done.poll() == 3
    assert (tmp_path / "a.log").read_text().splitlines() == ["out", "err"]
    slow = ToolProcess(["sh", "-c", "sleep 30 & sleep 30"], tmp_path / "b.log")
    slow.kill()
    assert slow.poll() is not None
    slow.kill()  # a second stop is harmless


def test_missing_weights(tmp_path):
    assert missing_weights(tmp_path) == ["boltz2_conf.ckpt", "boltz2_aff.ckpt", "mols"]
    (tmp_path / "boltz2_conf.ckpt").touch()
    (tmp_path / "mols").mkdir()
    assert missing_weights(tmp_path) == ["boltz2_aff.ckpt"]


# --- predict_chunk end to end -------------------------------------------------------------------


class FakeProcess:
    def __init__(self, thread: threading.Thread, exit_code: int, stop: threading.Event):
        self.thread = thread
        self.exit_code = exit_code
        self.stop = stop
        self.killed = False

    def poll(self):
        return None if self.thread.is_alive() else self.exit_code

    def kill(self):
        if self.thread.is_alive():
            self.killed = True
            self.stop.set()


class FixtureRun:
    """Stands in for `boltz predict`: lays a recorded run down where the command says Boltz
    writes it, one record folder at a time (renamed into place, as complete), with its log."""

    def __init__(self, scenario: str, *, first: str | None = None, release: threading.Event | None = None):
        self.scenario = RUNS / scenario
        self.first = first
        self.release = release
        self.calls: list[list[str]] = []
        self.inputs: dict[str, str] = {}
        self.process: FakeProcess | None = None

    def __call__(self, command, log_path):
        self.calls.append(list(command))
        data = Path(command[2])
        self.inputs = {p.stem: p.read_text() for p in data.iterdir()}
        results = Path(command[command.index("--out_dir") + 1]) / f"boltz_results_{data.name}"
        exit_code = json.loads((self.scenario / "scenario.json").read_text())["exit_code"]
        stop = threading.Event()
        thread = threading.Thread(target=self._write, args=(results, log_path, stop), daemon=True)
        thread.start()
        self.process = FakeProcess(thread, exit_code, stop)
        return self.process

    def _write(self, results: Path, log_path: Path, stop: threading.Event) -> None:
        source = self.scenario / "boltz_results_inputs"
        results.mkdir(parents=True)
        if (source / "processed").exists():
            shutil.copytree(source / "processed", results / "processed")
        folders = sorted((source / "predictions").iterdir()) if (source / "predictions").exists() else []
        folders.sort(key=lambda f: f.name != self.first)
        (results / "predictions").mkdir()
        for n, folder in enumerate(folders):
            staged = results / f".{folder.name}"
            shutil.copytree(folder, staged)
            staged.rename(results / "predictions" / folder.name)
            if n == 0 and self.release is not None:
                assert self.release.wait(5)
            if stop.is_set():
                return  # killed: a real run writes nothing more either
        shutil.copy(self.scenario / "boltz.log", log_path)


def predictor(run: FixtureRun, search: CountingSearch | None = None) -> Boltz2Predictor:
    return Boltz2Predictor(launch=run, msa=search or CountingSearch(), poll_s=0.01)


def outcomes(pred: Boltz2Predictor, ligands, params=None) -> dict[str, Prediction | PredictionFailed]:
    seen = [(t.job_id, r) for t, r in pred.predict_chunk(PROTEIN, ligands, params or Boltz2Params())]
    assert len(seen) == len({job for job, _ in seen}), "a ligand was reported twice"
    return dict(seen)


def test_predict_chunk_end_to_end():
    run, search = FixtureRun("chunk"), CountingSearch()
    ligands = [task("j-ok"), task("j-ok2"), task("j-excluded", "CC[Si](C)C"), task("j-affoom"), task("j-bad", "C1CC")]
    result = outcomes(predictor(run, search), ligands)

    assert search.calls == [SEQUENCE]
    assert len(run.calls) == 1, "one `boltz predict` per chunk"
    assert run.calls[0][run.calls[0].index("--preprocessing-threads") + 1] == "4"
    assert set(run.inputs) == {"j-ok", "j-ok2", "j-excluded", "j-affoom"}, "an unreadable SMILES never reaches Boltz"
    doc = yaml.safe_load(run.inputs["j-excluded"])
    msa_path = Path(doc["sequences"][0]["protein"]["msa"])
    assert msa_path.is_absolute() and msa_path.name == f"{sequence_sha256(SEQUENCE)}.a3m"
    assert doc["sequences"][1]["ligand"]["smiles"] == "CC[Si](C)C"
    assert doc["properties"] == [{"affinity": {"binder": "B"}}]

    assert isinstance(result["j-ok"], Prediction) and isinstance(result["j-ok2"], Prediction)
    assert result["j-ok"].metrics["pic50"] != result["j-ok2"].metrics["pic50"]
    # PoseBusters on the structure: the fixture's aspirin is intact but sits amid scattered atoms
    ok = result["j-ok"]
    assert ok.metrics["pb_valid"] is False and ok.metrics["pb_poses_checked"] == 1
    assert ok.metrics["pb_failed"] == ["minimum_distance_to_protein", "volume_overlap_with_protein"]
    assert ok.raw["posebusters"]["version"] == "0.6.5" and ok.raw["confidence"]
    assert str(result["j-excluded"]) == "Boltz-2 could not process the input: Molecule is excluded"
    assert "out of GPU memory in the affinity pass" in str(result["j-affoom"])
    assert str(result["j-bad"]) == "RDKit could not parse 'C1CC'"


def test_predict_chunk_reports_a_ligand_while_boltz_still_runs():
    release = threading.Event()
    run = FixtureRun("chunk", first="j-ok", release=release)
    chunk = predictor(run).predict_chunk(PROTEIN, [task("j-ok"), task("j-ok2")], Boltz2Params())
    first_task, first = next(chunk)
    assert first_task.job_id == "j-ok" and isinstance(first, Prediction)
    assert run.process.poll() is None, "reported before the run ended"
    release.set()
    rest = list(chunk)
    assert [t.job_id for t, _ in rest] == ["j-ok2"] and isinstance(rest[0][1], Prediction)


def test_predict_chunk_stops_the_run_when_abandoned():
    release = threading.Event()
    run = FixtureRun("chunk", first="j-ok", release=release)
    chunk = predictor(run).predict_chunk(PROTEIN, [task("j-ok"), task("j-ok2")], Boltz2Params())
    next(chunk)
    chunk.close()
    assert run.process.killed
    release.set()
    run.process.thread.join(5)


@pytest.mark.parametrize(
    ("scenario", "job", "params", "expected"),
    [
        ("affinity_crash", "j-oom", Boltz2Params(), "ran out of GPU memory predicting this complex"),
        ("affinity_crash", "j-noaff", Boltz2Params(), "affinity pass crashed (exit code 1)"),
        ("no_output", "j-lost", Boltz2Params(), "wrote no prediction folder"),
        ("crash", "j-a", Boltz2Params(), "boltz predict exited with code 1 before this ligand"),
        ("structure_only", "j-oom2", Boltz2Params(affinity=False, diffusion_samples=2), "ran out of GPU memory"),
    ],
)
def test_predict_chunk_failures(scenario, job, params, expected):
    result = outcomes(predictor(FixtureRun(scenario)), [task(job), task("j-other")], params)
    assert isinstance(result[job], PredictionFailed) and expected in str(result[job])
    assert isinstance(result["j-other"], PredictionFailed), "a ligand the run never wrote is failed, not lost"


def test_predict_chunk_structure_only_single_sequence():
    run, search = FixtureRun("structure_only"), CountingSearch()
    params = Boltz2Params(affinity=False, diffusion_samples=2, msa="none")
    result = outcomes(predictor(run, search), [task("j-struct"), task("j-oom2")], params)
    assert search.calls == [], "single-sequence mode needs no MSA"
    doc = yaml.safe_load(run.inputs["j-struct"])
    assert doc["sequences"][0]["protein"]["msa"] == "empty" and "properties" not in doc
    assert isinstance(result["j-struct"], Prediction) and "pic50" not in result["j-struct"].metrics
    assert isinstance(result["j-oom2"], PredictionFailed)


def test_worker_accounts_for_every_ligand_of_the_chunk():
    """The worker's chunk loop over the real predictor: one outcome per ligand, failures with reasons."""
    ligands = [task("j-ok", index=0), task("j-excluded", index=1), task("j-never", index=2)]
    order = WorkOrder(batch_id="b1", model="boltz2", protein=PROTEIN, ligands=ligands, executor="local")
    done = {o.task.job_id: o for o in run_chunk(predictor(FixtureRun("chunk")), order, Boltz2Params())}
    assert done["j-ok"].status == "succeeded" and done["j-ok"].prediction.metrics["affinity_probability_binary"]
    assert done["j-excluded"].error == "Boltz-2 could not process the input: Molecule is excluded"
    assert done["j-never"].error == "Boltz-2 wrote no prediction folder for this ligand"


def test_an_msa_failure_fails_the_chunk_through_the_worker():
    def down(sequence):
        raise RuntimeError("ColabFold MSA search failed (exit 1): Exception: MMseqs2 API is giving errors")

    order = WorkOrder(batch_id="b1", model="boltz2", protein=PROTEIN, ligands=[task("j-ok")], executor="local")
    pred = Boltz2Predictor(launch=FixtureRun("chunk"), msa=down, poll_s=0.01)
    [outcome] = run_chunk(pred, order, Boltz2Params())
    assert outcome.status == "failed" and "MMseqs2 API is giving errors" in outcome.error


# --- spec and Modal app -------------------------------------------------------------------------


def test_spec():
    assert SPEC.name == "boltz2" and SPEC.params is Boltz2Params
    assert SPEC.predictor == "omtx.predictors.boltz2:create" and SPEC.modal_target == "Boltz2.run"
    assert SPEC.limits.max_heavy_atoms == 128 and SPEC.limits.warn_heavy_atoms == 56
    assert SPEC.primary_metric == "affinity_probability_binary" and SPEC.higher_is_better
    assert SPEC.cost.usd_per_second > 0 and SPEC.chunk_size > 1
    assert isinstance(create(), ChunkPredictor), "the factory builds without boltz installed"


def test_modal_module_registers_on_the_app():
    import modal

    from modal_gpu import boltz2 as modal_boltz2
    from modal_gpu.common import app

    assert modal_boltz2.boltz2_msa.app is app and modal_boltz2.fetch_boltz2_weights.app is app
    assert isinstance(modal_boltz2.Boltz2, modal.Cls)
    with warnings.catch_warnings():
        # registered_classes is deprecated in modal 1.6 but still the only offline view of a class
        warnings.simplefilter("ignore", modal.exception.DeprecationError)
        assert app.registered_classes["Boltz2"] is modal_boltz2.Boltz2
    order = WorkOrder(batch_id="b1", model="boltz2", protein=PROTEIN, ligands=[task("j-1")], executor="modal")
    assert modal_boltz2.msa_sequence(order.model_dump_json(), Boltz2Params) == SEQUENCE
    single = order.model_copy(update={"params": {"msa": "none"}})
    assert modal_boltz2.msa_sequence(single.model_dump_json(), Boltz2Params) is None
