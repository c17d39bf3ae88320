"""Design requests (POST /v1/designs): validate a campaign, split it into GPU-sized design jobs
and start them on the batch pipeline (same topics, completion, finalisation and events as ligand
batches). The batch is `kind=designs`; its jobs are `kind=design` and carry a DesignRun, never a
ligand."""

from __future__ import annotations

import secrets
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from omtx.designs import plan
from omtx.designs.request import DesignRequest
from omtx.designs.target import Target, cut_target, hotspot_problems, problem, target_problems
from omtx.domain import Batch, BatchStatus, DesignCampaign, DesignRun, Job, ProteinIn
from omtx.errors import InputError
from omtx.gcp import storage
from omtx.gcp.firestore import batches as batch_store
from omtx.gcp.firestore import tenants
from omtx.ids import input_hash, job_id, new_batch_id, shard_count, shard_of
from omtx.predictors.registry import get_model
from omtx.predictors.rfantibody.inputs import InputProblem, check_framework
from omtx.predictors.rfantibody.params import RfantibodyParams
from omtx.settings import get_settings
from omtx.usecases import idempotent
from omtx.usecases.fanout import protein_key, publish_chunks
from omtx.usecases.structures import store_text, with_text
from omtx.usecases.submit import ESTIMATE_PARALLEL_CALLS, Estimate
from omtx.webhooks.urls import check_webhook_url

MODEL = "rfantibody"
INVALID = "the design request has invalid input"


class DesignAccepted(BaseModel):
    batch_id: str | None
    status: BatchStatus | None
    model: str = MODEL
    num_designs: int
    designs_per_job: int
    jobs: list[DesignRun] = Field(description="each job's tag, design numbers and seed")
    hotspots: list[str] = Field(description="the hotspots as RFantibody reads them (chain + number)")
    estimate: Estimate
    dry_run: bool = False
    replayed: bool = False
    links: dict[str, str] = Field(default_factory=dict)


class Checked(BaseModel):
    model_config = {"arbitrary_types_allowed": True}

    params: RfantibodyParams
    target: Target
    hotspots: list[str]
    positions: list[int]
    runs: list[DesignRun]
    seed: int


def validate(request: DesignRequest, tenant: str) -> Checked:
    """Every problem at once, each naming its field: the structure and chain, each bad hotspot,
    the framework, the loops and the settings."""
    problems: list[dict[str, Any]] = []
    try:
        check_webhook_url(request.webhook_url, get_settings())
    except InputError as exc:
        problems += exc.details
    target: Target | None = None
    try:
        text = with_text(ProteinIn(sequence="X", structure=request.target.structure), tenant).structure or ""
        target = cut_target(text, request.target.chain)
    except InputError as exc:
        problems += [d | {"loc": ["target", "structure"]} for d in exc.details]
    except InputProblem as exc:
        problems.append(problem(["target", "chain"], str(exc), request.target.chain))
    hotspots: list[str] = []
    if target is not None:
        hotspots, bad = hotspot_problems(target, request.hotspots)
        problems += bad
        if not bad:
            problems += target_problems(target, hotspots)
    if request.framework_pdb is not None:
        try:
            check_framework(request.framework_pdb)
        except InputProblem as exc:
            problems.append(problem(["framework_pdb"], f"not a usable HLT framework: {exc}"))
    params = _params(request, hotspots, problems)
    if problems or params is None or target is None:
        raise InputError(INVALID, problems)
    per_job = plan.designs_per_job(params)
    seed = request.seed if request.seed is not None else secrets.randbelow(2**31 - 1_000_000)
    runs = plan.runs(request.num_designs, per_job, seed)
    positions = [target.numbers.index(int(h[1:])) for h in hotspots]
    params = params.model_copy(update={"num_designs": per_job})
    return Checked(params=params, target=target, hotspots=hotspots, positions=positions, runs=runs, seed=seed)


def _params(request: DesignRequest, hotspots: list[str], problems: list[dict[str, Any]]) -> RfantibodyParams | None:
    """The job parameters; a framework problem already named is not named again."""
    values = request.settings.model_dump() | {
        "hotspots": ",".join(hotspots) or "A1",  # placeholder only while a hotspot problem is reported
        "design_loops": request.design_loops,
        "num_designs": 1,
    }
    if request.framework == "custom":
        if any(p["loc"] == ["framework_pdb"] for p in problems):
            values["framework_pdb"] = None
        else:
            values["framework_pdb"] = request.framework_pdb
    else:
        values["framework"] = request.framework
    try:
        return RfantibodyParams.model_validate(values)
    except ValidationError as exc:
        for error in exc.errors():
            field = error["loc"][0] if error["loc"] else None
            loc: list[str | int] = ["design_loops"] if field in (None, "design_loops") else ["settings", *error["loc"]]
            problems.append(problem(loc, str(error["msg"]).removeprefix("Value error, "), error.get("input")))
        return None


def estimate(checked: Checked) -> Estimate:
    figures = plan.figures(checked.params, checked.runs, ESTIMATE_PARALLEL_CALLS)
    cost = get_model(MODEL).cost
    return Estimate(
        jobs=figures.jobs,
        worker_calls=figures.jobs,
        hardware=cost.hardware,
        compute_seconds=round(figures.compute_seconds, 1),
        gpu_seconds=round(figures.compute_seconds, 1),
        cost_usd=round(figures.compute_seconds * cost.usd_per_second, 4),
        eta_s=round(figures.eta_s, 1),
        basis=figures.basis,
    )


def submit_designs(
    request: DesignRequest,
    tenant: str,
    *,
    dry_run: bool = False,
    idempotency_key: str | None = None,
    budgeted: bool = False,
) -> DesignAccepted:
    """As submit_batch: with an Idempotency-Key, the same request answers with the campaign it
    created (replayed), another request with the same key is a Conflict."""
    if dry_run or idempotency_key is None:
        checked, outcome = _accepted(request, tenant, dry_run=dry_run, budgeted=budgeted)
        return outcome if dry_run else _created(request, checked, outcome, tenant, new_batch_id())
    fingerprint = "designs:" + idempotent.digest(request.model_dump(mode="json"))
    return idempotent.submit_once(
        tenant,
        idempotency_key,
        fingerprint,
        new_batch_id(),
        DesignAccepted,
        lambda: _accepted(request, tenant, dry_run=False, budgeted=budgeted),
        lambda accepted, claimed_id: _created(request, accepted[0], accepted[1], tenant, claimed_id),
    )


def _accepted(request: DesignRequest, tenant: str, *, dry_run: bool, budgeted: bool) -> tuple[Checked, DesignAccepted]:
    """Validated, estimated and (unless a dry run) charged; nothing created yet."""
    checked = validate(request, tenant)
    answer = estimate(checked)
    outcome = DesignAccepted(
        batch_id=None,
        status=None,
        num_designs=request.num_designs,
        designs_per_job=checked.params.num_designs,
        jobs=checked.runs,
        hotspots=checked.hotspots,
        estimate=answer,
        dry_run=dry_run,
    )
    if not dry_run and budgeted and answer.gpu_seconds > 0:
        tenants.charge(tenant, answer.gpu_seconds)  # BudgetExceeded: nothing created
    return checked, outcome


def _created(
    request: DesignRequest, checked: Checked, outcome: DesignAccepted, tenant: str, batch_id: str
) -> DesignAccepted:
    _create(request, checked, tenant, batch_id)
    location = f"/v1/designs/{batch_id}"
    return outcome.model_copy(
        update={
            "batch_id": batch_id,
            "status": BatchStatus.QUEUED,
            "links": {"self": location, "designs": f"{location}/designs", "batch": f"/v1/batches/{batch_id}"},
        }
    )


def _create(request: DesignRequest, checked: Checked, tenant: str, batch_id: str) -> None:
    settings = get_settings()
    spec = get_model(MODEL)
    target = checked.target
    # The request as given, but a structure sent inline is stored once (below), not twice.
    stored = store_text(tenant, target.pdb)
    body = request.model_dump(exclude={"target"}) | {"target": {"chain": target.chain, "structure": stored.uri}}
    input_uri = storage.put_json(
        settings.inputs_bucket,
        f"batches/{batch_id}/input.json",
        {"batch_id": batch_id, "kind": "designs", "request": body, "runs": [r.model_dump() for r in checked.runs]},
        create_only=True,
    )
    framework = request.framework
    batch = Batch(
        batch_id=batch_id,
        tenant=tenant,
        name=request.name,
        kind="designs",
        model=spec.name,
        model_version=spec.version,
        params=checked.params.model_dump(),
        protein=ProteinIn(id=target.chain, sequence=target.sequence, structure=stored.uri),
        design=DesignCampaign(
            target_chain=target.chain,
            hotspots=checked.hotspots,
            epitope_positions=checked.positions,
            framework=framework,
            num_designs=request.num_designs,
            designs_per_job=checked.params.num_designs,
            seed=checked.seed,
        ),
        labels=request.labels,
        cache=False,  # a design run is never answered from another's results
        webhook_url=request.webhook_url,
        total=len(checked.runs),
        shard_count=shard_count(len(checked.runs), settings.jobs_per_counter_shard, settings.max_counter_shards),
        input_uri=input_uri,
    )
    jobs = design_jobs(batch, checked.runs)
    batch_store.create_batch(batch, jobs)
    publish_chunks(batch, jobs)


def design_jobs(batch: Batch, runs: list[DesignRun]) -> list[Job]:
    key = protein_key(batch)
    return [
        Job(
            job_id=job_id(batch.batch_id, n),
            batch_id=batch.batch_id,
            model=batch.model,
            tenant=batch.tenant,
            kind="design",
            index=n,
            shard=shard_of(n, batch.total, batch.shard_count),
            design=run,
            # distinct per run (design numbers and seed): no two design jobs share a cache key
            input_hash=input_hash(
                batch.model, batch.model_version, batch.params, key, f"design:{run.model_dump_json()}"
            ),
        )
        for n, run in enumerate(runs)
    ]
