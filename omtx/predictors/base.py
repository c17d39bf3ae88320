"""The contract every model implements, whatever hardware it runs on."""

from __future__ import annotations

import string
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

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


# A metric's values: campaign selection rules and result views compare number, bool and text
# metrics; a list (pb_failed) is read, never compared.
MetricKind = Literal["number", "bool", "text", "list"]


@dataclass(frozen=True)
class Metric:
    """One column a model writes: its unit ("" for a count or a flag), what it means (shown in
    the console's headers and `GET /v1/models`) and the kind of its values."""

    name: str
    unit: str = ""
    description: str = ""
    kind: MetricKind = "number"


# What every model with a predicted complex reports of its PoseBusters checks (omtx.poses)
POSE_CHECK_METRICS = (
    Metric("pb_valid", "", "the best pose passes every PoseBusters check", "bool"),
    Metric("pb_failed", "", "the names of the checks the best pose fails", "list"),
    Metric("pb_valid_poses", "", "checked poses that pass every check"),
    Metric("pb_poses_checked", "", "poses checked"),
)

# The confidences both co-folding models (Boltz-2, Chai-1) report for their complex
COFOLDING_CONFIDENCES = (
    Metric("ptm", "", "pTM, 0–1"),
    Metric("iptm", "", "ipTM, 0–1"),
    Metric("ligand_iptm", "", "ligand ipTM, 0–1"),
    Metric("complex_plddt", "", "complex pLDDT, 0–1"),
)


@dataclass(frozen=True)
class StructureView:
    """Which of a job's files is its predicted complex: the one the report shows and PoseBusters
    checks (omtx.poses)."""

    # A job file name; `{field}`s are filled from the job's metrics (RFantibody: "{best_tag}.pdb").
    file: str
    # complex: a protein and a small molecule (the file's hetero residues), the ligand drawn as
    # sticks in the protein's cartoon; protein_complex: a designed binder (chains H and L) against
    # its target, a cartoon per chain; molecule: a lone conformer, as sticks.
    kind: Literal["complex", "protein_complex", "molecule"] = "complex"

    @property
    def fields(self) -> tuple[str, ...]:
        """The metrics the file name is made of."""
        return tuple(name for _, name, _, _ in string.Formatter().parse(self.file) if name)

    def file_for(self, metrics: Mapping[str, Any]) -> str | None:
        """This job's file name; None when a metric it needs is missing (no best design)."""
        values = {name: metrics.get(name) for name in self.fields}
        if any(value is None for value in values.values()):
            return None
        return self.file.format_map(values)


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
    # The metrics it writes, each once, primary first (units and meaning: docs/api.md "Units and
    # meaning"); the primary metric is a number
    metrics: tuple[Metric, ...] = ()
    # The job file holding the predicted complex (None: the model predicts no structure)
    structure: StructureView | None = None
    # The worker stores each ligand's 2D drawing as the job file `ligand.svg` (omtx.depiction);
    # off where a row's SMILES is not what the job is about
    depicts_ligand: bool = True

    def __post_init__(self) -> None:
        names = [metric.name for metric in self.metrics]
        if len(set(names)) != len(names):
            raise ValueError(f"model {self.name} declares a metric twice: {names}")

    @property
    def metric_kinds(self) -> dict[str, str]:
        """The metrics a campaign's selection rules and result views may compare, name → "number" |
        "bool" | "text" (a list, like pb_failed, is not compared)."""
        return {metric.name: metric.kind for metric in self.metrics if metric.kind != "list"}
