"""The contract every model implements, whatever hardware it runs on."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel

from omtx.domain import DesignRun, Limits, ProteinIn


class LigandTask(BaseModel):
    """One job of a work order, as the worker needs it: a ligand, or a design run (`design` set,
    no molecule: `name` is the run's tag)."""

    job_id: str
    index: int
    name: str
    canonical_smiles: str = ""
    design: DesignRun | None = None
    # Echoed in job-done so complete can record the outcome without a read (see complete_job).
    shard: int | None = None
    claim_token: str | None = None


@dataclass(frozen=True)
class Prediction:
    metrics: dict[str, Any]
    # file name → (content, media type); the worker stores them beside results.json
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    # the model's own output, as it wrote it (confidence JSON, scores…), kept beside the metrics
    raw: dict[str, Any] | None = None
    # what the tool printed (stdout/stderr), stored as the job's logs.txt
    log: str = ""


class PredictionFailed(Exception):
    """The model ran and cannot produce a result for this ligand; the message is the reason."""


class Predictor(Protocol):
    """A model that predicts one ligand at a time; the worker calls it once per ligand."""

    def predict(self, protein: ProteinIn, ligand: LigandTask, params: BaseModel) -> Prediction: ...


# What a chunk predictor yields per ligand: its result, or the failure that explains it.
Outcome = tuple[LigandTask, Prediction | PredictionFailed]


@runtime_checkable
class ChunkPredictor(Protocol):
    """A model that runs a whole chunk at once (one `boltz predict` over a directory, one
    `run_inference` loop with a shared MSA). It yields each ligand as soon as its outcome is
    known, a Prediction or the PredictionFailed that explains it; a ligand it never yields is
    failed by the worker ("no outcome"), so a silent tool cannot lose a job."""

    def predict_chunk(
        self, protein: ProteinIn, ligands: Sequence[LigandTask], params: BaseModel
    ) -> Iterator[Outcome]: ...


@dataclass(frozen=True)
class CostModel:
    """Per-model figures behind dry-run estimates (configured, not measured here)."""

    seconds_per_ligand: float
    startup_s: float = 0.0  # per worker call (container start, weight load)
    hardware: str = "cpu"
    usd_per_second: float = 0.0


# Modal's rates (research/MODELS.md D.5), shared by the models that run on the same hardware.
MODAL_CPU_2_CORES_USD_PER_S = 0.0000262  # $0.0000131 per core-second, 2 cores
H100_USD_PER_S = 0.001097
# The Modal GPU type of the H100 models: "!" pins the type so the rate above holds (D.1).
MODAL_H100 = "H100!"


@dataclass(frozen=True)
class Metric:
    """One column a model writes: its unit ("" for a count or a flag) and what it means, shown in
    the console's headers and `GET /v1/models`."""

    name: str
    unit: str = ""
    description: str = ""


# The confidences both co-folding models (Boltz-2, Chai-1) report for their complex
COFOLDING_CONFIDENCES = (
    Metric("ptm", "", "pTM, 0–1"),
    Metric("iptm", "", "ipTM, 0–1"),
    Metric("ligand_iptm", "", "ligand ipTM, 0–1"),
    Metric("complex_plddt", "", "complex pLDDT, 0–1"),
)


@dataclass(frozen=True)
class ModelSpec:
    """What the platform needs to know about a model to validate, dispatch and run it."""

    name: str
    version: str
    description: str
    params: type[BaseModel]
    chunk_size: int
    hardware: str
    # "module:attribute" of the Predictor factory, imported only where the model runs
    predictor: str
    primary_metric: str
    higher_is_better: bool
    # The metrics a result carries, name → "number" | "bool" | "text": what a campaign's selection
    # rules may name (the primary metric is always a number)
    metric_kinds: Mapping[str, str] = field(default_factory=dict)
    limits: Limits = Limits()
    cost: CostModel = CostModel(seconds_per_ligand=0.1)
    # What the Modal executor spawns: a function name, or "Class.method" for an @app.cls whose
    # container keeps the model loaded between calls.
    modal_target: str = "run_cpu_work_order"
    # docks into a receptor: the request must carry protein.structure, and this "module:function"
    # (protein, params) -> problem or None checks it at submit
    needs_structure: bool = False
    check_structure: str | None = None
    # Deterministic for its inputs, so an earlier result may stand in for a run (result cache)
    cacheable: bool = True
    # How long a dispatched chunk may run before the reconciler retries it (None: the setting)
    job_deadline_s: int | None = None
    # Worker calls in flight at once, across batches (None: unbounded); settings may override
    max_calls_in_flight: int | None = None
    # Designs binders instead of scoring ligands: submitted with POST /v1/designs only, never as a
    # batch of (placeholder) ligand rows
    designs: bool = False
    # The metrics it writes, primary first (units and meaning: docs/api.md "Units and meaning")
    metrics: tuple[Metric, ...] = ()
