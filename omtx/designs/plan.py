"""How a design request becomes jobs: how many designs a job holds, each job's slice, seed and
tag, and the figures of the dry run's estimate. Pure functions.

A job is sized like the model's default job, the one its cost figures describe (SPEC.cost: 10
backbones of 4 sequences, ~20 GPU-minutes): long enough that the container start and the three
model loads are a small share, short enough that a lost job costs little and a campaign spreads
over many GPUs. A design's seconds follow the settings (timesteps, sequences, recycles), so a
heavier setting gives fewer designs per job; a job never plans more than half its own wall-clock
budget (timeout_s), leaving room for a slow GPU."""

from __future__ import annotations

import math
from dataclasses import dataclass

from omtx.domain import DesignRun
from omtx.predictors import rfantibody
from omtx.predictors.rfantibody.params import RfantibodyParams

MAX_DESIGNS_PER_JOB = 200  # RfantibodyParams.num_designs' bound
DEFAULT_DIFFUSER_T, DEFAULT_RECYCLES = 50, 10  # the settings the per-step figures are for


def seconds_per_design(params: RfantibodyParams) -> float:
    """One backbone and its sequences through the three steps, on the spec's GPU."""
    diffusion = rfantibody.RFDIFFUSION_S_PER_DESIGN * params.diffuser_t / DEFAULT_DIFFUSER_T
    prediction = rfantibody.RF2_S_PER_SEQUENCE * params.num_recycles / DEFAULT_RECYCLES
    return diffusion + params.seqs_per_struct * prediction


def designs_per_job(params: RfantibodyParams) -> int:
    each = seconds_per_design(params)
    by_size = rfantibody.SPEC.cost.seconds_per_ligand / each
    by_budget = 0.5 * params.timeout_s / each
    return max(1, min(MAX_DESIGNS_PER_JOB, math.floor(min(by_size, by_budget))))


def runs(total: int, per_job: int, seed: int) -> list[DesignRun]:
    """Job n designs numbers [n·per_job, …) — RFdiffusion's design_startnum, so tags
    `samples_design_<k>` never repeat across jobs — and runs with seed + n."""
    count = math.ceil(total / per_job)
    return [
        DesignRun(
            tag=f"run-{n:04d}",
            first_design=n * per_job,
            num_designs=min(per_job, total - n * per_job),
            seed=seed + n,
        )
        for n in range(count)
    ]


@dataclass(frozen=True)
class Figures:
    jobs: int
    compute_seconds: float
    eta_s: float
    basis: str


def figures(params: RfantibodyParams, design_runs: list[DesignRun], parallel_calls: int) -> Figures:
    cost = rfantibody.SPEC.cost
    each = seconds_per_design(params)
    compute = sum(run.num_designs * each + cost.startup_s for run in design_runs)
    waves = math.ceil(len(design_runs) / parallel_calls)
    longest = max(run.num_designs for run in design_runs) * each + cost.startup_s
    basis = (
        f"{each:.0f} s per design ({rfantibody.RFDIFFUSION_S_PER_DESIGN:.0f} s RFdiffusion at T={DEFAULT_DIFFUSER_T}, "
        f"{rfantibody.RF2_S_PER_SEQUENCE:.0f} s per RF2 prediction at {DEFAULT_RECYCLES} recycles, scaled to the "
        f"settings; assumed, not measured), {cost.startup_s:.0f} s start-up per job, {parallel_calls} jobs at once, "
        f"${cost.usd_per_second}/s"
    )
    return Figures(jobs=len(design_runs), compute_seconds=compute, eta_s=waves * longest, basis=basis)
