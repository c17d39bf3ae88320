"""`chai1`: Chai-1 structure of one protein with each ligand of a chunk (GPU).

This package's `SPEC` is what the platform knows of the model (the registry reads it); the
modules say how it runs:

- params: what a job may ask for.
- inputs: the FASTA per ligand, the shared MSA file's name and the token limit.
- msa: the protein's ColabFold `.aligned.pqt`, cached once per protein.
- inference: chai_lab in process (one `run_inference` per ligand), its weights and warm-up.
- outputs: a ligand's output directory read back as its best sample.
- predictor: the chunk predictor the worker runs, and its factory `create`.

Importing it loads no science library: chai_lab, torch, RDKit, NumPy and gemmi are imported
where they are used."""

from __future__ import annotations

from omtx.domain import Limits
from omtx.predictors.base import (
    COFOLDING_CONFIDENCES,
    H100_USD_PER_S,
    MODAL_H100,
    POSE_CHECK_METRICS,
    CostModel,
    Metric,
    ModelSpec,
)
from omtx.predictors.chai1.inputs import MAX_TOKENS
from omtx.predictors.chai1.outputs import STRUCTURE
from omtx.predictors.chai1.params import Chai1Params
from omtx.predictors.chai1.predictor import Chai1Predictor, create, ligand_problem

__all__ = ["MODAL_GPU", "SPEC", "Chai1Params", "Chai1Predictor", "create", "ligand_problem"]

MODAL_GPU = MODAL_H100
# Limits below keep residues + heavy atoms within MAX_TOKENS.
MAX_LIGAND_HEAVY_ATOMS = 128

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
    metrics=(
        Metric("aggregate_score", "", "Chai-1's ranking score of the best sample, 0–1"),
        *COFOLDING_CONFIDENCES,
        Metric("protein_ptm", "", "protein pTM"),
        Metric("ligand_plddt", "", "ligand pLDDT"),
        Metric("protein_plddt", "", "protein pLDDT"),
        Metric("has_clashes", "", "clash flag", "bool"),
        Metric("has_inter_chain_clashes", "", "inter-chain clash flag", "bool"),
        Metric("protein_ligand_clashes", "", "protein–ligand clashes"),
        *POSE_CHECK_METRICS,
    ),
    structure=STRUCTURE,
)
