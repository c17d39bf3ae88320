"""Domain models: what a batch and a job are, and what a user submits. Pydantic and stdlib only,
so the Modal image can carry this module."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
    model_serializer,
)

from omtx.tracing import current_traceparent

AMINO_ACIDS = frozenset("ACDEFGHIKLMNPQRSTVWY")
# X (unknown), U (selenocysteine) and O (pyrrolysine) are valid residue codes that the structure
# models map to UNK; we accept them rather than reject real sequences.
EXTENDED_RESIDUES = AMINO_ACIDS | frozenset("XUO")


def utcnow() -> datetime:
    return datetime.now(UTC)


class BatchStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    AGGREGATING = "aggregating"
    COMPLETED = "completed"
    COMPLETED_WITH_FAILURES = "completed_with_failures"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in FINAL_BATCH_STATUSES


FINAL_BATCH_STATUSES = frozenset(
    {BatchStatus.COMPLETED, BatchStatus.COMPLETED_WITH_FAILURES, BatchStatus.FAILED, BatchStatus.CANCELLED}
)


class JobStatus(StrEnum):
    QUEUED = "queued"
    DISPATCHED = "dispatched"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_JOB_STATUSES


TERMINAL_JOB_STATUSES = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})


class ProteinIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field("A", min_length=1, max_length=64)
    sequence: str = Field(min_length=1)
    structure: str | None = Field(
        None,
        max_length=20_000_000,
        description="PDB or mmCIF text, or a gs:// URI, for models that need a structure (docking). "
        "Stored in Cloud Storage at submit; the batch keeps its gs:// URI.",
    )

    @field_validator("sequence")
    @classmethod
    def _normalise_sequence(cls, value: str) -> str:
        # A pasted FASTA record is common: drop header lines, join the rest, ignore whitespace and
        # case. Anything outside the one-letter residue alphabet is an error naming the position.
        lines = [ln for ln in value.splitlines() if not ln.lstrip().startswith(">")]
        seq = re.sub(r"\s+", "", "".join(lines)).upper()
        bad = [(i + 1, ch) for i, ch in enumerate(seq) if ch not in EXTENDED_RESIDUES]
        if bad:
            shown = ", ".join(f"{ch!r} at {pos}" for pos, ch in bad[:5])
            raise ValueError(f"not a protein sequence: {len(bad)} invalid residue code(s): {shown}")
        if not seq:
            # whitespace or a FASTA header alone: nothing would be left to predict on
            raise ValueError("no residues: the sequence is empty once FASTA headers and whitespace are removed")
        return seq


class LigandIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=200)
    smiles: str = Field(min_length=1, max_length=5_000)
    # Set only on a row read with SKIPPABLE_ROWS that failed the schema: why, as {loc, msg, input}.
    _problems: list[dict[str, Any]] = PrivateAttr(default_factory=list)

    @property
    def problems(self) -> list[dict[str, Any]]:
        return self._problems

    @classmethod
    def unreadable(cls, index: int, raw: Any, errors: list[dict[str, Any]]) -> LigandIn:
        """A stand-in for row `index` that failed the schema: it keeps the row's place (so every
        later row keeps its number) and what it said, and carries its problems."""
        fields = raw if isinstance(raw, dict) else {}
        name, smiles = fields.get("name"), fields.get("smiles")
        row = cls.model_construct(
            name=name if isinstance(name, str) else None, smiles=smiles if isinstance(smiles, str) else ""
        )
        row._problems = [
            {"loc": ["ligands", index, *error["loc"][1:]], "msg": error["msg"], "input": error["input"]}
            for error in errors
        ]
        return row


# Validation context key: a ligand row that fails the schema becomes a stand-in carrying its problem
# instead of failing the request, so it can be skipped (on_invalid=skip) or named beside every other
# bad row, schema or chemistry, in one answer.
SKIPPABLE_ROWS = "skippable_rows"


def _rows_one_by_one(value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
    if not (info.context or {}).get(SKIPPABLE_ROWS):
        return handler(value)
    try:
        return handler(value)  # the common case, all rows good, at pydantic's speed
    except ValidationError as exc:
        by_row: dict[int, list[dict[str, Any]]] = {}
        for error in exc.errors():
            if not error["loc"] or not isinstance(error["loc"][0], int):
                raise  # not a row's problem (not a list, no rows): the request's
            by_row.setdefault(error["loc"][0], []).append(dict(error))
    # Stand-ins are model instances, passed through as they are; the good rows are validated again.
    return handler([LigandIn.unreadable(i, row, by_row[i]) if i in by_row else row for i, row in enumerate(value)])


LigandRows = Annotated[list[LigandIn], WrapValidator(_rows_one_by_one)]


def read_rows(value: Any) -> list[LigandIn]:
    """Every ligand row of a request that failed elsewhere, bad ones as stand-ins; [] if `value`
    is not a list of rows at all."""
    try:
        return TypeAdapter(LigandRows).validate_python(value, context={SKIPPABLE_ROWS: True})
    except ValidationError:
        return []


@dataclass(frozen=True)
class Limits:
    """What a model accepts; checked at submit so a bad row never reaches a GPU."""

    protein_min_length: int = 10
    protein_max_length: int = 2_000
    max_heavy_atoms: int | None = None
    warn_heavy_atoms: int | None = None  # above this: accepted, with a warning
    allowed_elements: frozenset[str] | None = None  # None: whatever RDKit accepts


class Submission(BaseModel):
    """What every submission names: the protein, the model and its parameters."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=200)
    model: str = "rdkit_props"
    params: dict[str, Any] = Field(default_factory=dict)
    protein: ProteinIn
    labels: dict[str, str] = Field(default_factory=dict, max_length=64)
    cache: bool = Field(
        True,
        description="reuse earlier results of the same model version, parameters, protein and molecule "
        "(from any batch of this deployment) instead of running them again",
    )


class BatchRequest(Submission):
    """One protein, N ligands, one model."""

    ligands: LigandRows = Field(min_length=1)
    on_invalid: Literal["reject", "skip"] = Field(
        "reject", description="reject: any bad row refuses the batch; skip: valid rows run, bad rows are listed"
    )
    webhook_url: str | None = Field(
        None,
        max_length=2048,
        description="receives the batch's milestones (10/25/50/75/90/100 %) and its completion as signed "
        "POSTs (OMTX-Signature header; the secret is returned with the batch id)",
    )


class PredictionRequest(Submission):
    """One protein–ligand prediction: the same pipeline as a batch of one."""

    ligand: LigandIn

    def as_batch(self) -> BatchRequest:
        return BatchRequest(**{k: v for k, v in self if k != "ligand"}, ligands=[self.ligand])


class Ligand(BaseModel):
    """A ligand after validation: the user's string beside the canonical form we run."""

    index: int
    row: int
    name: str
    smiles: str
    canonical_smiles: str
    heavy_atoms: int
    warnings: list[str] = Field(default_factory=list)


class Milestone(BaseModel):
    at: datetime
    done: int


MILESTONES = (10, 25, 50, 75, 90, 100)


class DesignCampaign(BaseModel):
    """What a design batch (POST /v1/designs) asked for, kept on the batch: its jobs are slices
    of `num_designs`, `designs_per_job` each (the last may be smaller)."""

    target_chain: str
    hotspots: list[str]
    # where each hotspot lies along the target chain (0-based): RFantibody renumbers the target
    # in its outputs, so the report finds the epitope by position
    epitope_positions: list[int] = Field(default_factory=list)
    framework: str = Field(description="nanobody, scfv, or custom (an HLT framework PDB)")
    num_designs: int = Field(description="RFdiffusion backbones in all; each gets seqs_per_struct sequences")
    designs_per_job: int
    seed: int = Field(description="the campaign's base seed; job n runs with seed + n")


class DesignRun(BaseModel):
    """One design job's slice of its campaign: distinct design numbers (RFdiffusion's
    design_startnum, hence distinct tags and, with `deterministic`, distinct seeds) and seed."""

    tag: str = Field(description="the job's run tag, e.g. run-0003")
    first_design: int = Field(ge=0)
    num_designs: int = Field(ge=1)
    seed: int = Field(ge=0)


class CampaignRef(BaseModel):
    """The screening campaign a batch is a stage of (omtx/campaigns/)."""

    campaign_id: str
    stage: int = Field(ge=0)


class Batch(BaseModel):
    batch_id: str
    tenant: str
    name: str | None = None
    kind: Literal["ligands", "designs"] = Field(
        "ligands", description="ligands: one job per ligand (POST /v1/batches); designs: antibody design runs"
    )
    model: str
    model_version: str
    params: dict[str, Any] = Field(default_factory=dict)
    protein: ProteinIn
    design: DesignCampaign | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    cache: bool = True
    status: BatchStatus = BatchStatus.QUEUED
    total: int
    rejected: int = 0
    shard_count: int
    input_uri: str
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    results: dict[str, str] = Field(default_factory=dict)
    milestones: dict[str, Milestone] = Field(default_factory=dict)
    # the final counts, written once at finalisation (live counts come from the shards)
    succeeded: int | None = None
    failed: int | None = None
    webhook_url: str | None = None
    # The trace the batch was submitted in: aggregate, triggered by a counter change that carries
    # no message attributes, continues it from here.
    traceparent: str | None = Field(default_factory=current_traceparent)
    cancelled: int | None = Field(None, description="Jobs that never finished because the batch was cancelled")
    cancelled_at: datetime | None = None
    campaign: CampaignRef | None = None
    revision: int = Field(
        0, description="Finalisations so far minus one: each retry of the failed jobs finalises the batch again"
    )


LIGAND_FIELDS = ("ligand_name", "smiles", "canonical_smiles", "inchikey")


class Job(BaseModel):
    job_id: str
    batch_id: str
    model: str = ""  # the batch's model, so capacity is counted per model across batches
    tenant: str = ""  # the batch's tenant, so a cache hit knows whose result it reuses
    kind: Literal["ligand", "design"] = "ligand"
    index: int
    shard: int
    # A ligand job's molecule; a design job has none, and its documents and views leave these out.
    ligand_name: str = ""
    smiles: str = ""
    canonical_smiles: str = ""
    inchikey: str = ""
    design: DesignRun | None = None
    input_hash: str
    status: JobStatus = JobStatus.QUEUED
    attempts: int = 0
    executor: str | None = None
    call_id: str | None = None
    deadline: datetime | None = None
    # The job document's update time when it was claimed; never stored, handed to the worker.
    claim_token: str | None = Field(None, exclude=True)
    metrics: dict[str, Any] = Field(default_factory=dict)
    result_uri: str | None = None
    files: dict[str, str] = Field(default_factory=dict)
    error: str | None = None
    cached_from: str | None = None  # "batch/job" whose result this job reused
    retries: int = 0  # times the job was requeued by a retry of its batch's failed jobs
    # `attempts` counts the current run (a retry restarts it, so each run gets every attempt);
    # the attempts of the runs before are kept here, so the job can still say what happened.
    earlier_attempts: int = 0
    duration_s: float | None = None  # the model's time on the last attempt (0 for a cached answer)
    created_at: datetime = Field(default_factory=utcnow)
    queued_at: datetime = Field(default_factory=utcnow)  # when it last became queued (reconciler)
    finished_at: datetime | None = None

    # Unannotated on purpose: pydantic then keeps the fields' schema for the OpenAPI document.
    @model_serializer(mode="wrap")
    def _by_kind(self, handler):  # type: ignore[no-untyped-def]
        data = handler(self)
        if self.kind == "design":
            for name in LIGAND_FIELDS:
                data.pop(name, None)
        else:
            data.pop("design", None)
        return data

    @property
    def ran_on(self) -> str | None:
        """Who produced the outcome: "cache" for a reused result (the claim recorded the executor
        that would have run it), else the executor of the last attempt."""
        return "cache" if self.cached_from else self.executor

    @property
    def all_attempts(self) -> int:
        """Attempts over every run of the job, retries of its batch included."""
        return self.attempts + self.earlier_attempts


class Counts(BaseModel):
    total: int
    succeeded: int = 0
    failed: int = 0

    @property
    def done(self) -> int:
        return self.succeeded + self.failed

    @property
    def complete(self) -> bool:
        return self.done >= self.total
