"""Chai-1: FASTA builder, the output parser on recorded-format fixtures (tests/fixtures/chai1/runs,
see generate.py there), the MSA cache rule, and predict_chunk end to end with `run_inference`
replaced by a stand-in that lays down a fixture output directory."""

import hashlib
import json
import shutil
import warnings
from pathlib import Path

import gemmi
import numpy as np
import pytest
from pydantic import ValidationError

from omtx.domain import ProteinIn
from omtx.predictors.base import ChunkPredictor, LigandTask, Prediction, PredictionFailed
from omtx.predictors.chai1 import SPEC, Chai1Params, Chai1Predictor, create, ligand_problem
from omtx.predictors.chai1.inference import ChaiRun, is_out_of_memory, missing_weights
from omtx.predictors.chai1.inputs import ligand_fasta, msa_basename
from omtx.predictors.chai1.msa import chai1_msa, chai1_msa_name, is_parquet
from omtx.predictors.chai1.outputs import best_sample, load_scores, parse_output
from omtx.worker import WorkOrder, run_chunk

RUNS = Path(__file__).parents[1] / "fixtures" / "chai1" / "runs"
SEQUENCE = "MKTAYIAKQR"
PROTEIN = ProteinIn(sequence=SEQUENCE)
ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"
PQT = b"PAR1" + b"\x00" * 32 + b"PAR1"


def task(job_id: str, smiles: str = ASPIRIN, index: int = 0) -> LigandTask:
    return LigandTask(job_id=job_id, index=index, name=job_id.removeprefix("j-"), canonical_smiles=smiles)


def b_factors(cif: Path, chain: str | None = None) -> list[float]:
    rows = gemmi.cif.read(str(cif)).sole_block().find("_atom_site.", ["label_asym_id", "B_iso_or_equiv"])
    return [float(r[1]) for r in rows if chain is None or r[0] == chain]


# --- parameters and inputs -------------------------------------------------------------------


def test_params_defaults_and_bounds():
    params = Chai1Params()
    assert (params.num_trunk_recycles, params.num_diffn_timesteps, params.num_diffn_samples) == (3, 200, 5)
    assert params.use_esm_embeddings and params.msa == "colabfold"
    with pytest.raises(ValidationError):
        Chai1Params(num_diffn_samples=0)
    with pytest.raises(ValidationError, match="extra"):
        Chai1Params(use_msa_server=True)


def test_ligand_fasta():
    assert ligand_fasta(SEQUENCE, ASPIRIN) == f">protein|name=protein\n{SEQUENCE}\n>ligand|name=ligand\n{ASPIRIN}\n"


def test_msa_basename_is_chai_s_expected_name():
    digest = hashlib.sha256(SEQUENCE.encode()).hexdigest()
    assert msa_basename(SEQUENCE) == msa_basename(SEQUENCE.lower()) == f"{digest}.aligned.pqt"


def test_ligand_problem():
    assert ligand_problem(len(SEQUENCE), ASPIRIN) is None
    assert ligand_problem(len(SEQUENCE), "C1CC") == "RDKit could not parse 'C1CC'"
    # 2040 residues + 13 heavy atoms
    assert "2053 tokens" in ligand_problem(2040, ASPIRIN)
    assert ligand_problem(2035, ASPIRIN) is None


# --- outputs ---------------------------------------------------------------------------------


def test_parse_output_takes_the_best_sample_by_aggregate_score():
    run = RUNS / "ok"
    result = parse_output(run, log="Score=0.8320\n")
    m = result.metrics
    assert m["best_sample"] == 1, "files are not sorted by score: the second one on disk wins"
    with np.load(run / "scores.model_idx_1.npz") as npz:
        assert m["aggregate_score"] == pytest.approx(float(npz["aggregate_score"][0]), abs=1e-4)
        assert m["ptm"] == pytest.approx(0.84, abs=1e-4) and m["iptm"] == pytest.approx(0.83, abs=1e-4)
        assert m["ligand_iptm"] == pytest.approx(float(npz["per_chain_pair_iptm"][0, 0, 1]), abs=1e-4)
        assert m["protein_ptm"] == pytest.approx(float(npz["per_chain_ptm"][0, 0]), abs=1e-4)
    cif = run / "pred.model_idx_1.cif"
    assert m["complex_plddt"] == pytest.approx(np.mean(b_factors(cif)) / 100, abs=1e-4)
    assert m["ligand_plddt"] == pytest.approx(np.mean(b_factors(cif, "B")) / 100, abs=1e-4)
    assert m["has_inter_chain_clashes"] is False and m["protein_ligand_clashes"] == 0 and m["has_clashes"] is False
    assert result.files["structure.cif"] == (cif.read_bytes(), "chemical/x-mmcif")
    assert result.raw["best_sample"] == 1 and set(result.raw["samples"]) == {"0", "1", "2"}
    assert result.raw["samples"]["1"]["per_chain_pair_iptm"][0][1] == pytest.approx(0.81, abs=1e-6)
    assert result.log == "Score=0.8320\n"
    json.dumps([result.metrics, result.raw])  # the worker stores both as JSON


def test_parse_output_flags_protein_ligand_clashes():
    result = parse_output(RUNS / "clash")
    m = result.metrics
    assert m["best_sample"] == 0
    # Chai's own flag only looks at polymer pairs; the count comes from chain_chain_clashes
    assert m["has_inter_chain_clashes"] is False
    assert m["protein_ligand_clashes"] == 3 and m["has_clashes"] is True


def test_parse_output_fails_when_the_ligand_chain_is_missing():
    with pytest.raises(PredictionFailed, match="ligand is missing from Chai-1's output"):
        parse_output(RUNS / "ligand_dropped")


def test_parse_output_fails_without_outputs(tmp_path):
    with pytest.raises(PredictionFailed, match="no scores"):
        parse_output(tmp_path)
    shutil.copy(RUNS / "ok" / "scores.model_idx_1.npz", tmp_path)
    with pytest.raises(PredictionFailed, match="no structure pred.model_idx_1.cif"):
        parse_output(tmp_path)
    np.savez(tmp_path / "scores.model_idx_2.npz", aggregate_score=np.array([0.9], dtype=np.float32))
    with pytest.raises(PredictionFailed, match="lack ptm"):
        parse_output(tmp_path)


def test_ligand_chain_needed_in_the_structure_too(tmp_path):
    """Scores of two chains but a structure without the ligand's atoms is still a failure."""
    shutil.copy(RUNS / "ok" / "scores.model_idx_0.npz", tmp_path)
    shutil.copy(RUNS / "ligand_dropped" / "pred.model_idx_0.cif", tmp_path)
    with pytest.raises(PredictionFailed, match="no chain B"):
        parse_output(tmp_path)


def test_best_sample_ties_go_to_the_lowest_index():
    samples = {2: {"aggregate_score": np.float32(0.5)}, 0: {"aggregate_score": np.float32(0.5)}}
    assert best_sample(samples) == 0
    assert sorted(load_scores(RUNS / "ok")) == [0, 1, 2]


# --- MSA and weights ----------------------------------------------------------------------------


class DictStore:
    def __init__(self):
        self.objects = {}

    def get(self, name):
        return self.objects.get(name)

    def put(self, name, data):
        self.objects[name] = data
        return f"mem://{name}"


def test_msa_is_computed_once_per_protein():
    store, calls = DictStore(), []

    def search(sequence):
        calls.append(sequence)
        return PQT

    assert chai1_msa(SEQUENCE, store, search) == PQT
    assert chai1_msa(SEQUENCE, store, search) == PQT
    assert calls == [SEQUENCE]
    assert list(store.objects) == [chai1_msa_name(SEQUENCE)]
    assert chai1_msa_name(SEQUENCE).endswith(msa_basename(SEQUENCE))
    assert is_parquet(PQT, SEQUENCE) and not is_parquet(b"PAR1 truncated", SEQUENCE)


def test_missing_weights(tmp_path):
    assert len(missing_weights(tmp_path)) == 8
    for name in missing_weights(tmp_path):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"w")
    assert missing_weights(tmp_path) == []


def test_out_of_memory_is_recognised():
    assert is_out_of_memory(RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    assert not is_out_of_memory(RuntimeError("Too many tokens in input: 2100 > 2048"))
    assert not is_out_of_memory(ValueError("out of memory"))


# --- predict_chunk end to end -------------------------------------------------------------------


class FixtureInference:
    """Stands in for chai_lab's run_inference: checks the call as Chai-1 would, then lays down
    the recorded output directory chosen by the ligand's SMILES."""

    def __init__(self, scenarios: dict[str, str | PredictionFailed]):
        self.scenarios = scenarios
        self.runs: list[ChaiRun] = []
        self.fastas: list[str] = []
        self.msa_files: list[list[str]] = []

    def __call__(self, run: ChaiRun) -> str:
        assert not run.output_dir.exists() or not any(run.output_dir.iterdir()), "output_dir must be empty"
        self.runs.append(run)
        self.fastas.append(run.fasta.read_text())
        self.msa_files.append(sorted(p.name for p in run.msa_directory.iterdir()) if run.msa_directory else [])
        smiles = run.fasta.read_text().splitlines()[3]
        scenario = self.scenarios[smiles]
        if isinstance(scenario, PredictionFailed):
            raise scenario
        shutil.copytree(RUNS / scenario, run.output_dir)
        return f"Score=..., writing output to {run.output_dir}\n"


PHENOL, TOLUENE, BENZENE = "Oc1ccccc1", "Cc1ccccc1", "c1ccccc1"


def test_predict_chunk_end_to_end():
    infer = FixtureInference(
        {
            ASPIRIN: "ok",
            PHENOL: "clash",
            TOLUENE: "ligand_dropped",
            BENZENE: PredictionFailed("Chai-1 ran out of GPU memory on this complex"),
        }
    )
    searches = []
    predictor = Chai1Predictor(infer=infer, msa=lambda seq: searches.append(seq) or PQT)
    ligands = [
        task("j-bad", "C1CC"),
        task("j-ok"),
        task("j-clash", PHENOL),
        task("j-dropped", TOLUENE),
        task("j-oom", BENZENE),
    ]
    seen = list(predictor.predict_chunk(PROTEIN, ligands, Chai1Params()))
    result = {t.job_id: r for t, r in seen}

    assert [t.job_id for t, _ in seen] == ["j-bad", "j-ok", "j-clash", "j-dropped", "j-oom"]
    assert searches == [SEQUENCE], "one MSA per chunk"
    assert infer.msa_files[0] == [msa_basename(SEQUENCE)]
    assert len({run.msa_directory for run in infer.runs}) == 1, "one MSA directory shared by every ligand"
    assert infer.fastas[0] == ligand_fasta(SEQUENCE, ASPIRIN)
    assert len(infer.runs) == 4, "an unreadable SMILES never reaches Chai-1"

    assert str(result["j-bad"]) == "RDKit could not parse 'C1CC'"
    assert isinstance(result["j-ok"], Prediction) and result["j-ok"].metrics["best_sample"] == 1
    assert "writing output to" in result["j-ok"].log
    assert isinstance(result["j-clash"], Prediction) and result["j-clash"].metrics["has_clashes"] is True
    # PoseBusters on the best sample: Chai-1's clash flag and PoseBusters' clash check agree
    for job in ("j-ok", "j-clash"):
        metrics = result[job].metrics
        assert metrics["pb_valid"] is False and "minimum_distance_to_protein" in metrics["pb_failed"]
    assert "ligand is missing" in str(result["j-dropped"])
    assert str(result["j-oom"]) == "Chai-1 ran out of GPU memory on this complex"
    assert not infer.runs[0].output_dir.parent.exists(), "a ligand's run folder goes once it is parsed"


def test_predict_chunk_single_sequence_needs_no_msa():
    infer = FixtureInference({ASPIRIN: "ok"})

    def no_search(sequence):
        raise AssertionError("no MSA in single-sequence mode")

    predictor = Chai1Predictor(infer=infer, msa=no_search)
    result = list(predictor.predict_chunk(PROTEIN, [task("j-ok")], Chai1Params(msa="none")))
    assert isinstance(result[0][1], Prediction)
    assert infer.runs[0].msa_directory is None and infer.runs[0].params.msa == "none"


def test_predict_chunk_too_many_tokens_is_refused_before_the_run():
    long_protein = ProteinIn(sequence="A" * 2040)
    infer = FixtureInference({})
    predictor = Chai1Predictor(infer=infer, msa=lambda s: PQT)
    [(_, failed)] = predictor.predict_chunk(long_protein, [task("j-1")], Chai1Params())
    assert isinstance(failed, PredictionFailed) and "Chai-1 accepts at most 2048" in str(failed)
    assert infer.runs == []


def test_worker_accounts_for_every_ligand_of_the_chunk():
    infer = FixtureInference({ASPIRIN: "ok", TOLUENE: "ligand_dropped"})
    order = WorkOrder(
        batch_id="b1",
        model="chai1",
        protein=PROTEIN,
        ligands=[task("j-ok", index=0), task("j-dropped", TOLUENE, index=1)],
        executor="local",
    )
    done = {o.task.job_id: o for o in run_chunk(Chai1Predictor(infer=infer, msa=lambda s: PQT), order, Chai1Params())}
    assert done["j-ok"].status == "succeeded" and done["j-ok"].prediction.metrics["aggregate_score"] > 0.8
    assert done["j-dropped"].status == "failed" and "ligand is missing" in done["j-dropped"].error


# --- spec and Modal app -------------------------------------------------------------------------


def test_spec():
    assert SPEC.name == "chai1" and SPEC.params is Chai1Params
    assert SPEC.predictor == "omtx.predictors.chai1:create" and SPEC.modal_target == "Chai1.run"
    assert SPEC.limits.protein_max_length + SPEC.limits.max_heavy_atoms <= 2048
    assert SPEC.primary_metric == "aggregate_score" and SPEC.higher_is_better
    assert isinstance(create(), ChunkPredictor), "the factory builds without chai_lab installed"


def test_modal_module_registers_on_the_app():
    import modal

    from modal_gpu import chai1 as modal_chai1
    from modal_gpu.common import app

    assert modal_chai1.chai1_msa.app is app and modal_chai1.fetch_chai1_weights.app is app
    assert isinstance(modal_chai1.Chai1, modal.Cls)
    with warnings.catch_warnings():
        # registered_classes is deprecated in modal 1.6 but still the only offline view of a class
        warnings.simplefilter("ignore", modal.exception.DeprecationError)
        assert app.registered_classes["Chai1"] is modal_chai1.Chai1
    order = WorkOrder(batch_id="b1", model="chai1", protein=PROTEIN, ligands=[task("j-1")], executor="modal")
    assert modal_chai1.msa_sequence(order.model_dump_json(), Chai1Params) == SEQUENCE
    single = order.model_copy(update={"params": {"msa": "none"}})
    assert modal_chai1.msa_sequence(single.model_dump_json(), Chai1Params) is None
