"""The Chai-1 chunk predictor: one protein with each ligand of a chunk, one `run_inference` each.

Per chunk: ligands RDKit cannot read, or that would exceed Chai-1's 2,048 tokens, are failed at
once (omtx.predictors.ligand_triage); the protein's MSA comes from the cache into one shared MSA
directory; then one `run_inference` per ligand (FASTA: protein, ligand), each reported as soon
as it is parsed. The inference call and the MSA source are injected, so the whole path runs in
tests without chai_lab or a GPU."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from pydantic import BaseModel

from omtx.domain import ProteinIn
from omtx.predictors.base import LigandTask, Outcome, Prediction, PredictionFailed
from omtx.predictors.chai1.inference import ChaiRun
from omtx.predictors.chai1.inputs import MAX_TOKENS, ligand_fasta, msa_basename, token_count
from omtx.predictors.chai1.outputs import STRUCTURE, parse_output
from omtx.predictors.chai1.params import Chai1Params
from omtx.predictors.ligand_triage import smiles_problem, triage
from omtx.predictors.msa_cache import MsaSource
from omtx.predictors.posecheck import with_pose_check

Inference = Callable[[ChaiRun], str]


class Chai1Predictor:
    def __init__(self, *, infer: Inference, msa: MsaSource) -> None:
        self.infer = infer
        self.msa = msa

    def predict_chunk(self, protein: ProteinIn, ligands: Sequence[LigandTask], params: BaseModel) -> Iterator[Outcome]:
        assert isinstance(params, Chai1Params)
        runnable = yield from triage(ligands, lambda smiles: ligand_problem(len(protein.sequence), smiles))
        if not runnable:
            return
        with tempfile.TemporaryDirectory(prefix="chai1-") as tmp:
            work = Path(tmp)
            msa_dir = None
            if params.msa == "colabfold":
                msa_dir = work / "msas"
                msa_dir.mkdir()
                (msa_dir / msa_basename(protein.sequence)).write_bytes(self.msa(protein.sequence))
            (work / "runs").mkdir()
            for stem, task in runnable.items():
                yield task, self._one(work / "runs" / stem, protein.sequence, task.canonical_smiles, msa_dir, params)

    def _one(
        self, folder: Path, sequence: str, smiles: str, msa_dir: Path | None, params: Chai1Params
    ) -> Prediction | PredictionFailed:
        folder.mkdir()
        fasta = folder / "input.fasta"
        fasta.write_text(ligand_fasta(sequence, smiles))
        try:
            log = self.infer(ChaiRun(fasta=fasta, output_dir=folder / "out", msa_directory=msa_dir, params=params))
            prediction = parse_output(folder / "out", log=log)
        except PredictionFailed as exc:
            return exc
        finally:
            # Five structures per ligand add up over a chunk; the result holds what is kept.
            shutil.rmtree(folder, ignore_errors=True)
        return with_pose_check(prediction, STRUCTURE, smiles)


def ligand_problem(protein_length: int, smiles: str) -> str | None:
    """Checked before the run: Chai-1 drops a ligand it cannot read and folds without it (B.2)."""

    def too_many_tokens(heavy: int) -> str | None:
        tokens = token_count(protein_length, heavy)
        if tokens > MAX_TOKENS:
            return f"{tokens} tokens (residues + ligand heavy atoms): Chai-1 accepts at most {MAX_TOKENS}"
        return None

    return smiles_problem(smiles, too_many_tokens)


def create() -> Chai1Predictor:
    """The predictor as the worker runs it: chai_lab in process, MSAs cached in the results bucket."""
    from omtx.predictors.chai1 import inference, msa
    from omtx.predictors.msa_cache import GcsMsaStore
    from omtx.settings import get_settings

    store = GcsMsaStore(get_settings().results_bucket)
    return Chai1Predictor(
        infer=inference.run_inference,
        msa=lambda sequence: msa.chai1_msa(sequence, store, msa.colabfold_aligned_pqt),
    )
