"""`rfantibody`: de novo antibody and nanobody design with RosettaCommons/RFantibody on a GPU.

RFantibody designs binders, it does not score a ligand: it is submitted as a design request
(POST /v1/designs, omtx/designs and omtx/usecases/designs.py), never as a ligand batch. One job is
one design run against the campaign's target chain: the target structure comes in
`protein.structure` (PDB text, or the gs:// URI submit stored it under), the job's parameters say
the framework, epitope hotspots, CDR loop lengths and designs per job, and the job's DesignRun
(`task.design`) its design numbers (RFdiffusion's design_startnum: distinct tags) and seed. A job
of a batch submitted before design requests existed numbers its run by its index. A job runs the three steps
of the published pipeline, each a CLI of the repository, then reads RF2's per-design scores,
applies the README's design filters and records them per design. Every step loads its model
itself (the tools have no in-process API), so a container keeps the weights on its Volume and in
the page cache, not in GPU memory.

This package's `SPEC` is what the platform knows of the model (the registry reads it); the
modules say how it runs:

- params: what a job may ask for; inputs: the hotspot and loop grammars and the PDB checks.
- commands: the three CLIs' argument lists, the pinned install and a job's working files.
- outputs: Quiver files, RF2's scores and the failures the tools print.
- filters, results: the README's design filters and the per-design rows and summary.
- predictor: the predictor the worker runs, its factory `create` and the submit-time
  `check_structure`.

Importing it loads only the standard library and pydantic: the tools run as subprocesses."""

from __future__ import annotations

from omtx.domain import Limits
from omtx.predictors.base import POSE_CHECK_METRICS, CostModel, Metric, ModelSpec
from omtx.predictors.rfantibody.commands import RFANTIBODY_COMMIT
from omtx.predictors.rfantibody.params import RfantibodyParams
from omtx.predictors.rfantibody.predictor import (
    STRUCTURE,
    RFAntibody,
    StepRun,
    check_structure,
    create,
    subprocess_runner,
)

__all__ = ["GPU", "SPEC", "RFAntibody", "RfantibodyParams", "StepRun", "check_structure", "create", "subprocess_runner"]

# CUDA 11.8 / torch 2.3 / a DGL cu118 wheel: A100 (sm_80) is what those builds surely support.
GPU = "A100-80GB"

# Not measured: MODELS.md has no RFantibody timings. Assumed on an A100: ~60 s per RFdiffusion
# design at T=50 and ~15 s per RF2 prediction at 10 recycles, growing linearly with the timesteps
# and the recycles. Design requests size their jobs from these (omtx/designs/plan.py).
RFDIFFUSION_S_PER_DESIGN = 60.0
RF2_S_PER_SEQUENCE = 15.0
DEFAULT_JOB_DESIGNS, DEFAULT_SEQS_PER_STRUCT = 10, 4

SPEC = ModelSpec(
    name="rfantibody",
    version=f"rfantibody-{RFANTIBODY_COMMIT[:7]}",
    description="RFantibody antibody/nanobody design: RFdiffusion → ProteinMPNN → RF2, README design filters",
    params=RfantibodyParams,
    # one design run per call: the three tools load their weights per run whatever the chunk
    chunk_size=1,
    hardware=GPU,
    predictor="omtx.predictors.rfantibody:create",
    primary_metric="best_interaction_pae",
    higher_is_better=False,
    # the protein is the target; RFdiffusion and RF2 grow as O(N²) (README): truncate it
    limits=Limits(protein_min_length=10, protein_max_length=1_000),
    # The default job (10 backbones, 4 sequences each) at the figures above; start-up: container
    # plus three model loads. A100-80GB at $0.000694/s (MODELS.md D.5, third-party figure).
    cost=CostModel(
        seconds_per_ligand=DEFAULT_JOB_DESIGNS
        * (RFDIFFUSION_S_PER_DESIGN + DEFAULT_SEQS_PER_STRUCT * RF2_S_PER_SEQUENCE),
        startup_s=120.0,
        hardware=GPU,
        usd_per_second=0.000694,
    ),
    modal_target="RFAntibody.run",
    # each job is one stochastic design run (its row's SMILES is a placeholder): never reuse one
    cacheable=False,
    # cost above plus the container start, with room for a slow GPU
    job_deadline_s=3 * 3600,
    needs_structure=True,
    check_structure="omtx.predictors.rfantibody:check_structure",
    # design runs hold a GPU for tens of minutes
    max_calls_in_flight=10,
    designs=True,
    metrics=(
        Metric("best_interaction_pae", "Å", "RF2 interaction pAE of the best design; lower is better"),
        Metric("designs_requested", "", "designs requested (backbones)"),
        Metric("backbones", "", "backbones RFdiffusion wrote"),
        Metric("sequences", "", "sequences ProteinMPNN wrote"),
        Metric("predicted", "", "designs RF2 predicted"),
        Metric("passing", "", "designs that pass every filter"),
        Metric("pass_rate", "", "passing / predicted, 0–1"),
        Metric("mpnn_failed_backbones", "", "backbones ProteinMPNN failed on"),
        Metric("best_tag", "", "the best design's tag", "text"),
        Metric("best_passes_filters", "", "the best design passes every filter", "bool"),
        Metric("best_pae", "Å", "RF2 pAE of the best design"),
        Metric("best_pred_lddt", "", "RF2 pLDDT of the best design"),
        Metric("best_target_aligned_antibody_rmsd", "Å", "the best design's antibody RMSD, target-aligned"),
        Metric("best_target_aligned_cdr_rmsd", "Å", "the best design's CDR RMSD, target-aligned"),
        Metric("best_heavy_sequence", "", "the best design's heavy chain", "text"),
        Metric("best_light_sequence", "", "the best design's light chain", "text"),
        *POSE_CHECK_METRICS,
    ),
    structure=STRUCTURE,
    # a row's SMILES only numbers the design run
    depicts_ligand=False,
)
