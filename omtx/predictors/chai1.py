"""`chai1`: Chai-1 structure of one protein with each ligand of a chunk.

Per chunk: ligands RDKit cannot read, or that would exceed Chai-1's 2,048 tokens, are failed at
once; the protein's MSA comes from the cache into one shared MSA directory; then one
`run_inference` per ligand (FASTA: protein, ligand), each reported as soon as it is parsed. The
inference call and the MSA source are injected, so the whole path runs in tests without
chai_lab or a GPU."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from pydantic import BaseModel

from omtx.domain import ProteinIn
from omtx.predictors.base import CostModel, LigandTask, Limits, ModelSpec, Prediction, PredictionFailed
from omtx.predictors.boltz2 import H100_USD_PER_S
from omtx.predictors.boltz2_inputs import record_stems
from omtx.predictors.chai1_inference import ChaiRun
from omtx.predictors.chai1_inputs import MAX_TOKENS, Chai1Params, ligand_fasta, msa_basename, token_count
from omtx.predictors.chai1_outputs import parse_output

Outcome = tuple[LigandTask, Prediction | PredictionFailed]
Inference = Callable[[ChaiRun], str]
MsaSource = Callable[[str], bytes]
# Limits below keep residues + heavy atoms within MAX_TOKENS.
MAX_LIGAND_HEAVY_ATOMS = 128


class Chai1Predictor:
    def __init__(self, *, infer: Inference, msa: MsaSource) -> None:
        self.infer = infer
        self.msa = msa

    def predict_chunk(self, protein: ProteinIn, ligands: Sequence[LigandTask], params: BaseModel) -> Iterator[Outcome]:
        assert isinstance(params, Chai1Params)
        runnable: dict[str, LigandTask] = {}
        for stem, task in record_stems(ligands).items():
            problem = ligand_problem(len(protein.sequence), task.canonical_smiles)
            if problem:
                yield task, PredictionFailed(problem)
            else:
                runnable[stem] = task
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
            return parse_output(folder / "out", log=log)
        except PredictionFailed as exc:
            return exc
        finally:
            # Five structures per ligand add up over a chunk; the result holds what is kept.
            shutil.rmtree(folder, ignore_errors=True)


def ligand_problem(protein_length: int, smiles: str) -> str | None:
    """Checked before the run: Chai-1 drops a ligand it cannot read and folds without it (B.2)."""
    from rdkit import Chem

    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return f"RDKit could not parse {smiles!r}"
    tokens = token_count(protein_length, mol.GetNumHeavyAtoms())
    if tokens > MAX_TOKENS:
        return f"{tokens} tokens (residues + ligand heavy atoms): Chai-1 accepts at most {MAX_TOKENS}"
    return None


def create() -> Chai1Predictor:
    """The predictor as the worker runs it: chai_lab in process, MSAs cached in the results bucket."""
    from omtx.predictors import chai1_inference, chai1_msa
    from omtx.predictors.boltz2_msa import GcsMsaStore
    from omtx.settings import get_settings

    store = GcsMsaStore(get_settings().results_bucket)
    return Chai1Predictor(
        infer=chai1_inference.run_inference,
        msa=lambda sequence: chai1_msa.chai1_msa(sequence, store, chai1_msa.colabfold_aligned_pqt),
    )


MODAL_GPU = "H100!"

SPEC = ModelSpec(
    name="chai1",
    version="chai-lab-0.6.1",
    description="Chai-1 (GPU): complex structure (mmCIF) of the best of its samples, pTM, ipTM, ligand ipTM, "
    "pLDDT, aggregate score and clash flags; no affinity",
    params=Chai1Params,
    # Models are read again on every run_inference; ESM stays loaded. Eight ~60 s ligands per
    # call keep a cold start under a tenth of the call.
    chunk_size=8,
    hardware="H100",
    predictor="omtx.predictors.chai1:create",
    primary_metric="aggregate_score",
    higher_is_better=True,
    limits=Limits(protein_max_length=MAX_TOKENS - MAX_LIGAND_HEAVY_ATOMS, max_heavy_atoms=MAX_LIGAND_HEAVY_ATOMS),
    # "at least 60 seconds" per complex (B.5, chai-lab #123). Start-up is not measured anywhere
    # we found: 30 s is an assumption (container start, weights from the Volume, ESM load).
    cost=CostModel(seconds_per_ligand=60.0, startup_s=30.0, hardware="H100", usd_per_second=H100_USD_PER_S),
    modal_target="Chai1.run",
    # 8 ligands at 60 s, a cold start and an MSA miss, with room
    job_deadline_s=1800,
    # 20 GPUs: the fleet simulation's figures (benchmarks/gpu_fleet.py)
    max_calls_in_flight=20,
)
