"""`vina`: AutoDock Vina 1.2 docking on CPU (meeko + RDKit preparation, gemmi output).

This package's `SPEC` is what the platform knows of the model (the registry reads it); `params`
is what a job may ask for and `predictor` docks, with its factory `create` and the submit-time
`check_structure`. The preparation and the engine themselves are omtx.docking's.

Importing it loads no science library: Vina, meeko and gemmi are imported where they are used."""

from __future__ import annotations

from omtx.docking.ligand import VINA_ELEMENTS
from omtx.domain import Limits
from omtx.predictors.base import (
    MODAL_CPU_2_CORES_USD_PER_S,
    POSE_CHECK_METRICS,
    CostModel,
    Metric,
    ModelSpec,
)
from omtx.predictors.vina.params import VinaParams
from omtx.predictors.vina.predictor import STRUCTURE, VinaDocking, check_structure, create

__all__ = ["SPEC", "VinaDocking", "VinaParams", "check_structure", "create"]

SPEC = ModelSpec(
    name="vina",
    version="vina-1.2.7-meeko-0.8.0",
    description="AutoDock Vina docking (CPU): best poses, Vina score (kcal/mol), complex mmCIF",
    params=VinaParams,
    chunk_size=8,
    hardware="cpu",
    predictor="omtx.predictors.vina:create",
    primary_metric="vina_score",
    higher_is_better=False,
    # DOCKING.md §7: drug-sized ligands take 15–60 s at exhaustiveness 8 on 2 cores; above ~60
    # heavy atoms a ligand needs minutes and 1.5 GB
    limits=Limits(max_heavy_atoms=80, warn_heavy_atoms=50, allowed_elements=VINA_ELEMENTS),
    cost=CostModel(seconds_per_ligand=30.0, startup_s=5.0, hardware="cpu", usd_per_second=MODAL_CPU_2_CORES_USD_PER_S),
    needs_structure=True,
    check_structure="omtx.predictors.vina:check_structure",
    # Modal CPU containers of 2 cores
    max_calls_in_flight=100,
    metrics=(
        Metric("vina_score", "kcal/mol", "Vina score of the best pose; more negative binds better"),
        Metric("n_poses", "", "poses returned"),
        Metric("fits_box", "", "false when the best pose's score is not negative", "bool"),
        Metric("dock_seconds", "s", "time the engine took"),
        Metric("receptor_deleted_residues", "", "receptor residues removed in preparation"),
        Metric("pb_seconds", "s", "time the PoseBusters checks took"),
        *POSE_CHECK_METRICS,
    ),
    structure=STRUCTURE,
)
