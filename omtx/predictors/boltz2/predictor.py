"""The Boltz-2 chunk predictor: one `boltz predict` over a chunk of ligands against one protein.

Per chunk: ligands RDKit cannot read are failed at once (omtx.predictors.ligand_triage); the
protein's MSA comes from the cache (computed once per protein, research/MODELS.md A.3); one YAML
per ligand points at it by absolute path; one `boltz predict` over the directory writes into a
fresh folder; each ligand is reported as soon as its files are complete, and those the run left
without files are failed with the reason its log gives (A.8). Runs where `boltz` is installed
(the Modal image); the process launcher and the MSA source are injected, so the whole path runs
in tests without it."""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel

from omtx.domain import ProteinIn
from omtx.predictors.base import LigandTask, Outcome, Prediction, PredictionFailed
from omtx.predictors.boltz2.inputs import (
    AFFINITY_MAX_HEAVY_ATOMS,
    INPUT_DIR_NAME,
    ligand_yaml,
    predict_command,
    results_dir,
)
from omtx.predictors.boltz2.msa import a3m_depth
from omtx.predictors.boltz2.outputs import (
    STRUCTURE,
    RunLog,
    diagnose,
    has_outputs,
    has_structure,
    parse_record,
    record_finished,
)
from omtx.predictors.boltz2.params import Boltz2Params
from omtx.predictors.ligand_triage import smiles_problem, triage
from omtx.predictors.msa_cache import MsaSource, sequence_sha256
from omtx.predictors.posecheck import with_pose_check

log = logging.getLogger(__name__)


class Process(Protocol):
    """A started run: polled until it exits, killed if its caller goes away."""

    def poll(self) -> int | None: ...

    def kill(self) -> None: ...


Launcher = Callable[[Sequence[str], Path], Process]


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
        runnable = yield from triage(ligands, lambda smiles: ligand_problem(smiles, affinity=params.affinity))
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
                        task = pending.pop(stem)
                        yield task, _parsed(predictions / stem, stem, params, run_log, task.canonical_smiles)
                time.sleep(self.poll_s)
        finally:
            # The caller stopped listening (or the worker is failing): stop the run with it.
            process.kill()
        # The run is over: what it wrote is all there will be.
        run_log = RunLog.parse(_read(log_path))
        for stem, task in pending.items():
            folder = predictions / stem
            if has_outputs(folder, stem, affinity=params.affinity):
                yield task, _parsed(folder, stem, params, run_log, task.canonical_smiles)
            else:
                reason = diagnose(
                    stem,
                    run_log,
                    processed=(results / "processed" / "records" / f"{stem}.json").is_file(),
                    has_structure=has_structure(folder, stem),
                    exit_code=exit_code,
                )
                yield task, PredictionFailed(reason)


def _parsed(
    folder: Path, stem: str, params: Boltz2Params, run_log: RunLog, smiles: str
) -> Prediction | PredictionFailed:
    try:
        prediction = parse_record(folder, stem, affinity=params.affinity, log=run_log.mentioning(stem))
    except PredictionFailed as exc:
        return exc
    return with_pose_check(prediction, STRUCTURE, smiles)


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.is_file() else ""


def ligand_problem(smiles: str, *, affinity: bool) -> str | None:
    """Checked before the run: Boltz skips such a ligand with only a log line (A.8)."""

    def too_large(heavy: int) -> str | None:
        if affinity and heavy > AFFINITY_MAX_HEAVY_ATOMS:
            return f"{heavy} heavy atoms: Boltz-2's affinity module accepts at most {AFFINITY_MAX_HEAVY_ATOMS}"
        return None

    return smiles_problem(smiles, too_large)


def create() -> Boltz2Predictor:
    """The predictor as the worker runs it: `boltz` on PATH, MSAs cached in the results bucket."""
    from omtx.predictors.boltz2 import msa, tool
    from omtx.predictors.msa_cache import GcsMsaStore
    from omtx.settings import get_settings

    store = GcsMsaStore(get_settings().results_bucket)
    return Boltz2Predictor(
        launch=tool.launch,
        msa=lambda sequence: msa.boltz2_msa(sequence, store, tool.colabfold_a3m),
        executable=tool.executable,
    )
