"""Submit: validate a batch, store its input, record batch and jobs, publish `submitted`."""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from pydantic import BaseModel, Field, ValidationError

from omtx.chemistry.ligands import validate_ligands
from omtx.domain import SKIPPABLE_ROWS, Batch, BatchRequest, BatchStatus, CampaignRef, Ligand, ProteinIn, read_rows
from omtx.errors import InputError
from omtx.gcp import storage
from omtx.gcp.firestore import batches as batch_store
from omtx.gcp.firestore import tenants
from omtx.ids import new_batch_id, shard_count
from omtx.predictors.base import ModelSpec
from omtx.predictors.registry import MODELS, get_model, parse_params
from omtx.settings import get_settings
from omtx.usecases import idempotent
from omtx.usecases.fanout import FANOUT_STRIDE, publish_ranges, write_inline, write_ranges
from omtx.usecases.structures import store_text, with_text
from omtx.webhooks.urls import check_webhook_url

ESTIMATE_PARALLEL_CALLS = 10  # worker calls assumed to run at once in the ETA
T = TypeVar("T")


class TooManyLigands(InputError):
    """The batch is larger than this deployment accepts."""


class Estimate(BaseModel):
    jobs: int
    worker_calls: int
    hardware: str
    compute_seconds: float
    gpu_seconds: float = Field(description="What the batch is charged against the tenant's budget: 0 on CPU")
    cost_usd: float
    eta_s: float
    basis: str


class SubmitOutcome(BaseModel):
    batch_id: str | None
    status: BatchStatus | None
    model: str
    accepted: int
    rejected: int
    warnings: list[dict[str, Any]]
    rejected_rows: list[dict[str, Any]]
    estimate: Estimate
    dry_run: bool = False
    replayed: bool = False


class Validated(BaseModel):
    model_config = {"arbitrary_types_allowed": True}

    spec: ModelSpec
    params: BaseModel
    protein: ProteinIn  # a gs:// structure read (as the caller) into text
    ligands: list[Ligand]
    rejected: list[dict[str, Any]]

    @property
    def rejected_count(self) -> int:
        """Rows, not entries: a row that failed the schema twice is one row."""
        return len({entry["loc"][1] for entry in self.rejected})


def read_request(data: dict[str, Any]) -> BatchRequest:
    """The batch a JSON body asks for. A ligand row that fails the schema (an empty or over-long
    SMILES) stays in place carrying its problem, so skip mode skips it and a 422 names it beside
    every other bad row. When the rest of the body is unreadable, the 422 still names every bad row."""
    try:
        return BatchRequest.model_validate(data, context={SKIPPABLE_ROWS: True})
    except ValidationError as exc:
        problems = InputError.from_validation("", exc).details
    rows = read_rows(data.get("ligands"))
    if len(rows) <= get_settings().max_ligands:
        name = data.get("model", BatchRequest.model_fields["model"].default)
        spec = MODELS.get(name) if isinstance(name, str) else None  # its limits, if it names a model
        problems += validate_ligands(rows, spec.limits if spec else None)[1]
    raise InputError("the request has invalid input", problems)


def validate(request: BatchRequest, tenant: str = "") -> Validated:
    """Every check at once, one 422 naming every problem; refuses the batch (InputError) unless
    on_invalid=skip leaves rows to run and every problem is a row's. A `gs://` structure is read
    as `tenant` (no tenant reads none)."""
    settings = get_settings()
    if len(request.ligands) > settings.max_ligands:
        raise TooManyLigands(
            "too many ligands",
            [
                {
                    "loc": ["ligands"],
                    "msg": f"{len(request.ligands)} ligands; this deployment accepts at most {settings.max_ligands}",
                    "input": None,
                }
            ],
        )
    problems: list[dict[str, Any]] = []  # the request's own, not a row's: never skipped
    _gather(problems, partial(check_webhook_url, request.webhook_url, settings))
    spec = _gather(problems, partial(get_model, request.model))
    if spec is not None and spec.designs:
        problems.append(
            {
                "loc": ["model"],
                "msg": f"{spec.name} designs antibodies and takes no ligands: submit a design request with "
                "POST /v1/designs (target chain, hotspots, framework, number of designs)",
                "input": spec.name,
            }
        )
        spec = None
    params = _gather(problems, partial(parse_params, spec, request.params)) if spec else None
    # The batch keeps a copy in the caller's own folder, so nothing downstream ever reads a
    # reference the caller wrote.
    protein = _gather(problems, partial(with_text, request.protein, tenant))
    if spec:
        problems += _protein_problems(spec, request.protein)
        if params is not None and protein is not None and spec.needs_structure:
            _gather(problems, partial(check_structure, spec, protein, params))
    ligands, rejected = validate_ligands(request.ligands, spec.limits if spec else None)
    if (
        spec is None
        or params is None
        or protein is None
        or problems
        or (rejected and (request.on_invalid == "reject" or not ligands))
    ):
        why = "the batch has invalid input" if ligands or problems else "no valid ligand in the batch"
        raise InputError(why, problems + rejected)
    return Validated(spec=spec, params=params, protein=protein, ligands=ligands, rejected=rejected)


def _gather(problems: list[dict[str, Any]], check: Callable[[], T]) -> T | None:
    """Run one check, keeping its problems for the one answer instead of stopping at them."""
    try:
        return check()
    except InputError as exc:
        problems += exc.details
        return None


def _protein_problems(spec: ModelSpec, protein: ProteinIn) -> list[dict[str, Any]]:
    limits, length = spec.limits, len(protein.sequence)
    if limits.protein_min_length <= length <= limits.protein_max_length:
        return []
    return [
        {
            "loc": ["protein", "sequence"],
            "msg": f"length {length} is outside {limits.protein_min_length}–"
            f"{limits.protein_max_length} residues accepted by {spec.name}",
            "input": None,
        }
    ]


def check_structure(spec: ModelSpec, protein: ProteinIn, params: BaseModel) -> None:
    """A docking model's receptor is prepared once here, so a structure that cannot be docked
    into is a 422 naming the residues, not N failed jobs."""
    loc = ["protein", "structure"]
    if not protein.structure:
        raise InputError(
            "the batch has invalid input",
            [
                {
                    "loc": loc,
                    "msg": f"{spec.name} docks into a receptor: give PDB or mmCIF text, or a gs:// URI",
                    "input": None,
                }
            ],
        )
    if spec.check_structure is None:
        return
    module, _, attr = spec.check_structure.partition(":")
    problem: str | None = getattr(importlib.import_module(module), attr)(protein, params)
    if problem is not None:
        raise InputError("the batch has invalid input", [{"loc": loc, "msg": problem, "input": None}])


def estimate(spec: ModelSpec, jobs: int) -> Estimate:
    calls = math.ceil(jobs / spec.chunk_size)
    cost = spec.cost
    compute = jobs * cost.seconds_per_ligand + calls * cost.startup_s
    waves = math.ceil(calls / ESTIMATE_PARALLEL_CALLS)
    per_call = min(jobs, spec.chunk_size) * cost.seconds_per_ligand + cost.startup_s
    return Estimate(
        jobs=jobs,
        worker_calls=calls,
        hardware=cost.hardware,
        compute_seconds=round(compute, 1),
        gpu_seconds=0.0 if cost.hardware == "cpu" else round(compute, 1),
        cost_usd=round(compute * cost.usd_per_second, 4),
        eta_s=round(waves * per_call, 1),
        basis=f"{cost.seconds_per_ligand} s/ligand, {cost.startup_s} s start-up per call of {spec.chunk_size}, "
        f"{ESTIMATE_PARALLEL_CALLS} calls at once, ${cost.usd_per_second}/s",
    )


def fingerprint(request: BatchRequest) -> str:
    """Same request, same fingerprint, however its JSON objects were ordered."""
    body = request.model_dump(mode="json")
    # A row that failed the schema is dumped as a stand-in: what it was is in its problem.
    if problems := [p for lig in request.ligands for p in lig.problems]:
        body["row_problems"] = problems
    return idempotent.digest(body)


def submit_batch(
    request: BatchRequest,
    tenant: str,
    *,
    dry_run: bool = False,
    idempotency_key: str | None = None,
    budgeted: bool = False,
    batch_id: str | None = None,
    campaign: CampaignRef | None = None,
    validated: Validated | None = None,
) -> SubmitOutcome:
    """With `budgeted`, the batch's estimated GPU-seconds are charged to the tenant before
    anything is created (BudgetExceeded if they would take it past its budget). A dry run and a
    replay charge nothing. A campaign names its stage's batch id itself (`batch_id`), so the
    stage's batch-done can be told from any other batch's without a read, and hands over its
    first stage's `validated` request (RDKit on every ligand, seconds for 10,000) instead of
    having it checked twice."""
    if dry_run or idempotency_key is None:
        checked = validated or validate(request, tenant)
        if dry_run:
            return _outcome(None, checked, dry_run=True)
        charge(tenant, checked, budgeted)
        return _create(request, checked, tenant, batch_id or new_batch_id(), campaign)

    # The key is claimed before validation, so a retry that arrives while a large batch is still
    # being validated answers at once instead of validating it all again.
    def accept() -> Validated:
        checked = validated or validate(request, tenant)
        charge(tenant, checked, budgeted)
        return checked

    outcome = idempotent.submit_once(
        tenant,
        idempotency_key,
        fingerprint(request),
        batch_id or new_batch_id(),
        SubmitOutcome,
        accept,
        lambda checked, claimed_id: _create(request, checked, tenant, claimed_id, campaign),
    )
    # The recorded answer said `queued`; a replay tells where the batch is now.
    if outcome.replayed and outcome.batch_id is not None:
        if (batch := batch_store.get_batch(outcome.batch_id)) is not None:
            outcome.status = batch.status
    return outcome


def charge(tenant: str, checked: Validated, budgeted: bool) -> None:
    """Charged when accepted, on the estimate, and not refunded: a submission that fails later
    (a 503 the client retries) may be charged twice, never not at all."""
    gpu_s = estimate(checked.spec, len(checked.ligands)).gpu_seconds
    if budgeted and gpu_s > 0:
        tenants.charge(tenant, gpu_s)


def _outcome(batch_id: str | None, checked: Validated, *, dry_run: bool = False) -> SubmitOutcome:
    warnings = [
        {"loc": ["ligands", lig.row, "smiles"], "msg": w, "input": lig.smiles}
        for lig in checked.ligands
        for w in lig.warnings
    ]
    return SubmitOutcome(
        batch_id=batch_id,
        status=None if dry_run else BatchStatus.QUEUED,
        model=checked.spec.name,
        accepted=len(checked.ligands),
        rejected=checked.rejected_count,
        warnings=warnings,
        rejected_rows=checked.rejected,
        estimate=estimate(checked.spec, len(checked.ligands)),
        dry_run=dry_run,
    )


def _create(
    request: BatchRequest, checked: Validated, tenant: str, batch_id: str, campaign: CampaignRef | None = None
) -> SubmitOutcome:
    settings = get_settings()
    spec, ligands = checked.spec, checked.ligands
    shards = shard_count(len(ligands), settings.jobs_per_counter_shard, settings.max_counter_shards)
    # Inputs are stored before anything is acknowledged or created.
    input_uri = storage.put_json(
        settings.inputs_bucket,
        f"batches/{batch_id}/input.json",
        {
            "batch_id": batch_id,
            "request": request.model_dump(),
            "ligands": [lig.model_dump() for lig in ligands],
            "rejected": checked.rejected,
        },
        create_only=True,
    )
    protein = checked.protein
    if protein.structure:
        # Content-addressed in the tenant's folder: its batches on one receptor share one object,
        # and the batch document stays small however large the structure is.
        protein = protein.model_copy(update={"structure": store_text(tenant, protein.structure).uri})
    batch = Batch(
        batch_id=batch_id,
        tenant=tenant,
        name=request.name,
        model=spec.name,
        model_version=spec.version,
        params=checked.params.model_dump(),
        protein=protein,
        labels=request.labels,
        cache=request.cache,
        webhook_url=request.webhook_url,
        total=len(ligands),
        rejected=checked.rejected_count,
        shard_count=shards,
        input_uri=input_uri,
        campaign=campaign,
    )
    if len(ligands) <= settings.fanout_from:
        write_inline(batch, ligands)
    else:
        # Answer now; dispatch writes the jobs range by range (omtx/usecases/fanout.py).
        ranges = write_ranges(batch_id, ligands, spec.chunk_size)
        batch_store.create_batch(batch, [])
        publish_ranges(batch_id, ranges[:FANOUT_STRIDE])
    return _outcome(batch_id, checked)
