"""GPU fleet simulation: what chunk size and container design cost in GPU-seconds and makespan.

A discrete-event model of one batch on Modal. The batch's chunks are spawned at once (submit
publishes them all, dispatch spawns each), at most `gpus` containers run them, each container
pays a cold start once, loads the model weights once per call or once per container, runs its
calls' ligands one after another, and is billed from its start until `scaledown_window_s` after
its last call (research/MODELS.md D.5: start-up and the idle tail are billed).

Pure and deterministic: the per-ligand inference times come from a seeded lognormal drawn in
ligand order, so designs compared with one seed see the same ligands (common random numbers).
"""

from __future__ import annotations

import heapq
import math
import random
from collections import deque
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# The goal: billed GPU-seconds at most 10 % above pure inference, makespan within 10 % of N·t/G.
OVERHEAD_GOAL = 0.10
MAKESPAN_GOAL = 0.10


class ModelFigures(BaseModel):
    """Per-model timings. Defaults are Boltz-2's (research/MODELS.md A.9), with affinity."""

    model_config = ConfigDict(frozen=True)

    name: str = "boltz2"
    # A.9: 80,000 ligands in 1.5 days on 8 GPUs in directory mode ≈ 13 GPU·s per ligand (boltz #570);
    # one load per directory, so this is nearly all inference.
    inference_s: float = Field(default=13.0, gt=0)
    # Assumed: MODELS.md gives no spread; a batch has one protein, so only the ligand varies.
    inference_cv: float = Field(default=0.25, ge=0)
    # A.9: ~25 s fixed start-up per `boltz predict` invocation with affinity (boltz #391).
    weight_load_s: float = Field(default=25.0, ge=0)
    # Assumed: per call, inputs written, processed and outputs parsed beyond the per-ligand time.
    call_overhead_s: float = Field(default=2.0, ge=0)
    # Assumed: one ColabFold MSA; MODELS.md gives no time, only that it blocks (A.8).
    msa_s: float = Field(default=60.0, ge=0)


BOLTZ2 = ModelFigures()
CHAI1 = ModelFigures(
    name="chai1",
    # B.5: "at least 60 seconds" per instance (chai-lab #123); its trunk modules reload on every
    # run_inference and the maintainer calls that fast (#283), so they are inside this figure.
    inference_s=60.0,
    # Assumed: torch and chai_lab imports plus ESM2-3B (B.1), which chai_lab keeps per process.
    weight_load_s=20.0,
)


class FleetFigures(BaseModel):
    """The GPU fleet on Modal."""

    model_config = ConfigDict(frozen=True)

    # The goal setting; Modal's `max_containers` (D.1).
    gpus: int = Field(default=20, ge=1)
    # Assumed: MODELS.md has no container start time for a multi-GB GPU image; billed (D.5).
    cold_start_s: float = Field(default=30.0, ge=0)
    # Modal's default idle window (the server's, not in MODELS.md); the idle tail is billed (D.5).
    scaledown_window_s: float = Field(default=60.0, ge=0)
    # D.5: H100 per second.
    usd_per_gpu_s: float = Field(default=0.001097, ge=0)


class Design(BaseModel):
    """How the platform runs a batch. Defaults are the design as planned today."""

    model_config = ConfigDict(frozen=True)

    chunk_size: int = Field(ge=1)
    # per_call: one `boltz predict` subprocess per chunk reloads the weights every call (A.4);
    # per_container: @app.cls + @modal.enter keeps the model loaded between calls (D.1).
    weights: Literal["per_call", "per_container"] = "per_call"
    # shared: Modal's input queue, a free container takes the next spawned call;
    # static: chunk i goes to container i mod G whatever the others are doing.
    queue: Literal["shared", "static"] = "shared"
    # fixed: chunks of chunk_size and a smaller last one (submit.py today);
    # balanced: a multiple of G chunks of equal size (±1), none above chunk_size, so the last
    # wave is full and as long as the others.
    chunking: Literal["fixed", "balanced"] = "fixed"
    # once_on_cpu: one MSA per protein on a CPU function before dispatch (A.3);
    # per_ligand_on_gpu: `--use_msa_server` in the worker, which queries once per input file (A.3).
    msa: Literal["once_on_cpu", "per_ligand_on_gpu"] = "once_on_cpu"


class Scenario(BaseModel):
    model_config = ConfigDict(frozen=True)

    model: ModelFigures = BOLTZ2
    fleet: FleetFigures = FleetFigures()
    design: Design
    ligands: int = Field(default=10_000, ge=1)
    seed: int = 0


class Call(BaseModel):
    """One worker call: the ligands first_ligand … first_ligand + size − 1 on one container."""

    model_config = ConfigDict(frozen=True)

    container: int
    first_ligand: int
    size: int
    start_s: float
    end_s: float


class FleetResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    ligands: int
    calls: list[Call]
    containers: int
    cold_starts: int
    weight_loads: int
    inference_gpu_s: float  # Σ per-ligand inference: the work itself
    billed_gpu_s: float
    makespan_s: float  # submit → last ligand done
    ideal_makespan_s: float  # N·t/G: the work spread perfectly, no overhead
    busy_gpu_s: float  # inside calls (weights per call, call overhead, inference)
    usd_per_gpu_s: float

    @property
    def gpu_s_per_ligand(self) -> float:
        return self.billed_gpu_s / self.ligands

    @property
    def inference_s_per_ligand(self) -> float:
        return self.inference_gpu_s / self.ligands

    @property
    def overhead(self) -> float:
        """Billed GPU-seconds above pure inference, as a fraction of it."""
        return self.billed_gpu_s / self.inference_gpu_s - 1

    @property
    def makespan_excess(self) -> float:
        return self.makespan_s / self.ideal_makespan_s - 1

    @property
    def utilisation(self) -> float:
        """Share of billed GPU time spent inside calls (not starting, loading once or idling)."""
        return self.busy_gpu_s / self.billed_gpu_s

    @property
    def usd_per_1000_ligands(self) -> float:
        return self.billed_gpu_s * self.usd_per_gpu_s * 1000 / self.ligands

    @property
    def meets_goal(self) -> bool:
        return self.overhead <= OVERHEAD_GOAL and self.makespan_excess <= MAKESPAN_GOAL


def chunk_sizes(ligands: int, gpus: int, design: Design) -> list[int]:
    """The batch's chunks in the order they are published and spawned."""
    size = design.chunk_size
    if design.chunking == "fixed":
        return [min(size, ligands - start) for start in range(0, ligands, size)]
    count = min(ligands, math.ceil(math.ceil(ligands / size) / gpus) * gpus)
    base, extra = divmod(ligands, count)
    return [base + 1 if i < extra else base for i in range(count)]


def inference_times(model: ModelFigures, ligands: int, seed: int) -> list[float]:
    """Lognormal per-ligand times whose mean is inference_s and coefficient of variation inference_cv."""
    if model.inference_cv == 0:
        return [model.inference_s] * ligands
    rng = random.Random(seed)
    sigma = math.sqrt(math.log1p(model.inference_cv**2))
    mu = math.log(model.inference_s) - sigma**2 / 2
    return [rng.lognormvariate(mu, sigma) for _ in range(ligands)]


def simulate(scenario: Scenario) -> FleetResult:
    model, fleet, design = scenario.model, scenario.fleet, scenario.design
    times = inference_times(model, scenario.ligands, scenario.seed)
    chunks: list[tuple[int, int]] = []
    first = 0
    for size in chunk_sizes(scenario.ligands, fleet.gpus, design):
        chunks.append((first, size))
        first += size
    # Modal starts no more containers than there are calls waiting.
    containers = min(fleet.gpus, len(chunks))
    if design.queue == "shared":
        shared = deque(range(len(chunks)))
        queues = [shared] * containers  # one queue, the same object for every container
    else:
        queues = [deque(range(c, len(chunks), containers)) for c in range(containers)]
    # With the MSA on CPU the GPU work is spawned once it exists; no container waits for it.
    released = model.msa_s if design.msa == "once_on_cpu" else 0.0
    per_call_fixed = model.call_overhead_s + (model.weight_load_s if design.weights == "per_call" else 0.0)
    per_ligand_extra = model.msa_s if design.msa == "per_ligand_on_gpu" else 0.0
    ready = released + fleet.cold_start_s + (model.weight_load_s if design.weights == "per_container" else 0.0)

    # Every container starts at `released` and cold-starts once: the backlog keeps it busy until
    # the queue is empty, so it never idles past its scaledown window mid-batch.
    # Events are "container c is free at time t"; ties go to the lower container number.
    events = [(ready, c) for c in range(containers)]
    heapq.heapify(events)
    calls: list[Call] = []
    billed = 0.0
    while events:
        now, container = heapq.heappop(events)
        queue = queues[container]
        if not queue:  # it idles for the scaledown window, billed, then stops
            billed += now + fleet.scaledown_window_s - released
            continue
        first, size = chunks[queue.popleft()]
        end = now + per_call_fixed + sum(times[first : first + size]) + per_ligand_extra * size
        calls.append(Call(container=container, first_ligand=first, size=size, start_s=now, end_s=end))
        heapq.heappush(events, (end, container))

    inference = sum(times)
    return FleetResult(
        ligands=scenario.ligands,
        calls=calls,
        containers=containers,
        cold_starts=containers,
        weight_loads=len(calls) if design.weights == "per_call" else containers,
        inference_gpu_s=inference,
        billed_gpu_s=billed,
        makespan_s=max(call.end_s for call in calls),
        ideal_makespan_s=inference / fleet.gpus,
        busy_gpu_s=sum(call.end_s - call.start_s for call in calls),
        usd_per_gpu_s=fleet.usd_per_gpu_s,
    )
