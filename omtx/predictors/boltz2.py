"""`boltz2`: Boltz-2 structure and affinity for a chunk of ligands against one protein.

Per chunk: ligands RDKit cannot read are failed at once; the protein's MSA comes from the cache
(computed once per protein, research/MODELS.md A.3); one YAML per ligand points at it by
absolute path; one `boltz predict` over the directory writes into a fresh folder; each ligand is
reported as soon as its files are complete, and those the run left without files are failed
with the reason its log gives (A.8). Runs where `boltz` is installed (the Modal image); the
process launcher and the MSA source are injected, so the whole path runs in tests without it."""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel

from omtx.domain import ProteinIn
from omtx.predictors.base import CostModel, LigandTask, Limits, ModelSpec, Prediction, PredictionFailed
from omtx.predictors.boltz2_inputs import (
    AFFINITY_MAX_HEAVY_ATOMS,
    AFFINITY_WARN_HEAVY_ATOMS,
    INPUT_DIR_NAME,
    Boltz2Params,
    ligand_yaml,
    predict_command,
    record_stems,
    results_dir,
)
from omtx.predictors.boltz2_msa import a3m_depth, sequence_sha256
from omtx.predictors.boltz2_outputs import RunLog, diagnose, has_outputs, has_structure, parse_record, record_finished

log = logging.getLogger(__name__)

Outcome = tuple[LigandTask, Prediction | PredictionFailed]


class Process(Protocol):
    """A started run: polled until it exits, killed if its caller goes away."""

    def poll(self) -> int | None: ...

    def kill(self) -> None: ...


Launcher = Callable[[Sequence[str], Path], Process]
MsaSource = Callable[[str], bytes]


class Boltz2Predictor:
    def __init__(
        self,
        *,
        launch: Launcher,
        msa: MsaSource,
        executable: Callable[[], str] = lambda: "boltz",
        cache: Path | None = None,
        use_kernels: bool = True,
        preprocessing_threads: int = 4,
        poll_s: float = 2.0,
    ) -> None:
        self.launch = launch
        self.msa = msa
        self.executable = executable
        self.cache = cache
        self.use_kernels = use_kernels
        self.preprocessing_threads = preprocessing_threads
        self.poll_s = poll_s

    def predict_chunk(self, protein: ProteinIn, ligands: Sequence[LigandTask], params: BaseModel) -> Iterator[Outcome]:
        assert isinstance(params, Boltz2Params)
        runnable: dict[str, LigandTask] = {}
        for stem, task in record_stems(ligands).items():
            problem = ligand_problem(task.canonical_smiles, affinity=params.affinity)
            if problem:
                yield task, PredictionFailed(problem)
            else:
                runnable[stem] = task
        if not runnable:
            return
        with tempfile.TemporaryDirectory(prefix="boltz2-") as tmp:
            work = Path(tmp)
            msa_path = self._write_msa(protein.sequence, params, work)
            input_dir = work / INPUT_DIR_NAME
            input_dir.mkdir()
            for stem, task in runnable.items():
                text = ligand_yaml(protein.sequence, task.canonical_smiles, msa_path, affinity=params.affinity)
                (input_dir / f"{stem}.yaml").write_text(text)
            out_dir = work / "out"
            command = predict_command(
                self.executable(),
                input_dir,
                out_dir,
                params,
                cache=self.cache,
                use_kernels=self.use_kernels,
                preprocessing_threads=min(self.preprocessing_threads, len(runnable)),
            )
            yield from self._run(command, work / "boltz.log", results_dir(out_dir, input_dir), runnable, params)

    def _write_msa(self, sequence: str, params: Boltz2Params, work: Path) -> Path | None:
        if params.msa == "none":
            return None
        a3m = self.msa(sequence)
        path = work / "msa" / f"{sequence_sha256(sequence)}.a3m"
        path.parent.mkdir()
        path.write_bytes(a3m)
        log.info("boltz2: MSA of %d sequences for a %d-residue protein", a3m_depth(a3m), len(sequence))
        return path.resolve()

    def _run(
        self, command: list[str], log_path: Path, results: Path, runnable: dict[str, LigandTask], params: Boltz2Params
    ) -> Iterator[Outcome]:
        pending = dict(runnable)
        predictions = results / "predictions"
        process = self.launch(command, log_path)
        try:
            while (exit_code := process.poll()) is None:
                done = [
                    stem
                    for stem in pending
                    if record_finished(
                        predictions / stem, stem, affinity=params.affinity, samples=params.diffusion_samples
                    )
                ]
                if done:
                    run_log = RunLog.parse(_read(log_path))
                    for stem in done:
                        yield pending.pop(stem), _parsed(predictions / stem, stem, params, run_log)
                time.sleep(self.poll_s)
        finally:
            # The caller stopped listening (or the worker is failing): stop the run with it.
            process.kill()
        # The run is over: what it wrote is all there will be.
        run_log = RunLog.parse(_read(log_path))
        for stem, task in pending.items():
            folder = predictions / stem
            if has_outputs(folder, stem, affinity=params.affinity):
                yield task, _parsed(folder, stem, params, run_log)
            else:
                reason = diagnose(
                    stem,
                    run_log,
                    processed=(results / "processed" / "records" / f"{stem}.json").is_file(),
                    has_structure=has_structure(folder, stem),
                    exit_code=exit_code,
                )
                yield task, PredictionFailed(reason)


def _parsed(folder: Path, stem: str, params: Boltz2Params, run_log: RunLog) -> Prediction | PredictionFailed:
    try:
        return parse_record(folder, stem, affinity=params.affinity, log=run_log.mentioning(stem))
    except PredictionFailed as exc:
        return exc


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.is_file() else ""


def ligand_problem(smiles: str, *, affinity: bool) -> str | None:
    """Checked before the run: Boltz skips such a ligand with only a log line (A.8)."""
    from rdkit import Chem

    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return f"RDKit could not parse {smiles!r}"
    heavy = mol.GetNumHeavyAtoms()
    if affinity and heavy > AFFINITY_MAX_HEAVY_ATOMS:
        return f"{heavy} heavy atoms: Boltz-2's affinity module accepts at most {AFFINITY_MAX_HEAVY_ATOMS}"
    return None


def create() -> Boltz2Predictor:
    """The predictor as the worker runs it: `boltz` on PATH, MSAs cached in the results bucket."""
    from omtx.predictors import boltz2_msa, boltz2_tool
    from omtx.settings import get_settings

    store = boltz2_msa.GcsMsaStore(get_settings().results_bucket)
    return Boltz2Predictor(
        launch=boltz2_tool.launch,
        msa=lambda sequence: boltz2_msa.boltz2_msa(sequence, store, boltz2_tool.colabfold_a3m),
        executable=boltz2_tool.executable,
    )


# Modal's H100 rate (research/MODELS.md D.5); "!" pins the type so the rate holds (D.1).
H100_USD_PER_S = 0.001097
MODAL_GPU = "H100!"

SPEC = ModelSpec(
    name="boltz2",
    version="boltz-2.2.1",
    description="Boltz-2 (GPU): complex structure (mmCIF), confidence (pTM, ipTM, ligand ipTM, pLDDT) and "
    "affinity (binder probability, log10 IC50 in µM, pIC50, ΔG)",
    params=Boltz2Params,
    # ~25 s of start-up and weight loading per `boltz predict` spread over 32 ligands: under 1 s each.
    chunk_size=32,
    hardware="H100",
    predictor="omtx.predictors.boltz2:create",
    # Boltz-2's documented use for hit discovery (binder vs decoy) in a screen (A.6).
    primary_metric="affinity_probability_binary",
    higher_is_better=True,
    # Memory grows with N²: ~2,000 residues is the reported ceiling on 80 GB (A.8); the
    # ligand's tokens come on top.
    limits=Limits(
        protein_max_length=1_800,
        max_heavy_atoms=AFFINITY_MAX_HEAVY_ATOMS,
        warn_heavy_atoms=AFFINITY_WARN_HEAVY_ATOMS,
    ),
    # ~13 GPU·s per ligand in directory mode (A.9, issue #570); ~25 s start-up per invocation (#391).
    cost=CostModel(seconds_per_ligand=13.0, startup_s=25.0, hardware="H100", usd_per_second=H100_USD_PER_S),
    modal_target="Boltz2.run",
    # 32 ligands at 13 s, a cold start and an MSA miss, with room
    job_deadline_s=1800,
    # 20 GPUs: the fleet simulation's figures (benchmarks/gpu_fleet.py)
    max_calls_in_flight=20,
)
