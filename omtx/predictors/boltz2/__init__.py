"""`boltz2`: Boltz-2 structure and affinity for a chunk of ligands against one protein (GPU).

This package's `SPEC` is what the platform knows of the model (the registry reads it); the
modules say how it runs:

- params: what a job may ask for.
- inputs: the YAML per ligand and the `boltz predict` command per chunk.
- msa: the protein's ColabFold A3M, cached once per protein.
- tool, sidecar: the installed Boltz (its CLI, its own virtualenv's Python).
- outputs: a ligand's prediction folder read back, or why there is none.
- predictor: the chunk predictor the worker runs, and its factory `create`.

Importing it loads no science library: Boltz, RDKit and PyYAML are imported where they are used."""

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
from omtx.predictors.boltz2.inputs import AFFINITY_MAX_HEAVY_ATOMS, AFFINITY_WARN_HEAVY_ATOMS
from omtx.predictors.boltz2.outputs import STRUCTURE
from omtx.predictors.boltz2.params import Boltz2Params
from omtx.predictors.boltz2.predictor import Boltz2Predictor, create, ligand_problem

__all__ = ["MODAL_GPU", "SPEC", "Boltz2Params", "Boltz2Predictor", "create", "ligand_problem"]

MODAL_GPU = MODAL_H100

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
    metrics=(
        Metric("affinity_probability_binary", "", "probability that the ligand is a binder, 0–1"),
        Metric("affinity_pred_value", "log10 µM", "log10(IC50 / µM)"),
        Metric("pic50", "", "6 − affinity_pred_value"),
        Metric("delta_g_kcal", "kcal/mol", "ΔG ≈ −1.364 · pIC50; negative is favourable"),
        Metric("confidence_score", "", "Boltz confidence, 0–1"),
        *COFOLDING_CONFIDENCES,
        Metric("protein_iptm", "", "protein ipTM"),
        Metric("complex_iplddt", "", "complex interface pLDDT"),
        Metric("complex_pde", "Å", "complex predicted distance error"),
        Metric("complex_ipde", "Å", "complex interface predicted distance error"),
        *POSE_CHECK_METRICS,
    ),
    structure=STRUCTURE,
)
