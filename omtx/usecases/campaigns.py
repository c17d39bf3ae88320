"""Campaigns: submit (the whole plan validated, a dry-run estimate per stage, stage 0 started),
advance on a stage's `batch-done` (exactly once per stage, under a create-only claim), cancel,
and the reconciler's re-drive of a stage that finished but whose next step never happened."""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ValidationError

from omtx.campaigns.plan import CampaignRequest, ModelFacts, rule_problems, stage_sizes
from omtx.campaigns.state import Campaign, CampaignStatus, StageState
from omtx.domain import BatchRequest, BatchStatus, CampaignRef, LigandIn, utcnow
from omtx.errors import Conflict, InputError, NotFound
from omtx.events import BatchDone
from omtx.gcp import storage
from omtx.gcp.firestore import batches as batch_store
from omtx.gcp.firestore import campaigns as store
from omtx.predictors.registry import MODELS, get_model, parse_params
from omtx.settings import get_settings
from omtx.usecases import control
from omtx.usecases.campaign_results import OWNER, finish, load_library, selection, stage_rows
from omtx.usecases.structures import store_text
from omtx.usecases.submit import Estimate, Validated, check_structure, estimate, submit_batch, validate

log = logging.getLogger(__name__)


class StageEstimate(BaseModel):
    stage: str
    model: str
    ligands: int
    estimate: Estimate


class CampaignAccepted(BaseModel):
    campaign_id: str | None
    status: str | None
    accepted: int
    rejected: int
    rejected_rows: list[dict[str, Any]]
    stages: list[StageEstimate]
    jobs: int
    compute_seconds: float
    cost_usd: float
    basis: str = "stage sizes assume every ligand passes the thresholds; only top_k/top_fraction shrink the funnel"
    dry_run: bool = False


def new_campaign_id() -> str:
    return "c" + secrets.token_hex(8)


def stage_batch_id(campaign_id: str, n: int) -> str:
    """The batch of stage n: derived, so a stage's batch-done is recognised without a read and a
    re-driven step submits the same batch, never a second one."""
    return "b" + hashlib.sha256(f"{campaign_id}/stage/{n}".encode()).hexdigest()[:16]


def facts(name: str) -> ModelFacts | None:
    spec = MODELS.get(name)
    if spec is None:
        return None
    return ModelFacts(spec.name, spec.primary_metric, spec.higher_is_better, dict(spec.metric_kinds))


def _stage_loc(n: int, details: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A stage's model/params problems, placed under stages[n]; ligand rows keep their own loc."""
    out = []
    for item in details:
        loc = list(item.get("loc") or [])
        if loc and loc[0] in ("model", "params", "webhook_url"):
            loc = ["stages", n, *loc]
        out.append(item | {"loc": loc})
    return out


def submit_campaign(
    request: CampaignRequest, tenant: str, *, dry_run: bool = False, budgeted: bool = False
) -> CampaignAccepted:
    """Every problem of the plan in one 422 (InputError), before anything is created."""
    problems: list[dict[str, Any]] = []
    first = request.stages[0]
    checked = None
    try:
        checked = validate(
            _batch_request(request, first.model, first.params, request.ligands, request.on_invalid), tenant
        )
    except InputError as exc:
        problems += _stage_loc(0, exc.details)
    for n, stage in enumerate(request.stages[1:], start=1):
        try:
            spec = get_model(stage.model)
            params = parse_params(spec, stage.params)
            if spec.needs_structure:
                check_structure(spec, checked.protein if checked else request.protein, params)
        except InputError as exc:
            problems += _stage_loc(n, exc.details)
    problems += rule_problems(request, facts)
    if problems or checked is None:
        raise InputError("the campaign has invalid input", problems)
    sizes = stage_sizes(len(checked.ligands), request.stages)
    stages = [
        StageEstimate(stage=s.name, model=s.model, ligands=size, estimate=estimate(get_model(s.model), size))
        for s, size in zip(request.stages, sizes, strict=True)
    ]
    accepted = CampaignAccepted(
        campaign_id=None,
        status=None,
        accepted=len(checked.ligands),
        rejected=checked.rejected_count,
        rejected_rows=checked.rejected,
        stages=stages,
        jobs=sum(sizes),
        compute_seconds=round(sum(s.estimate.compute_seconds for s in stages), 1),
        cost_usd=round(sum(s.estimate.cost_usd for s in stages), 4),
        dry_run=dry_run,
    )
    if dry_run:
        return accepted
    settings = get_settings()
    campaign_id = new_campaign_id()
    library = [
        {"index": lig.index, "name": lig.name, "smiles": lig.smiles, "canonical_smiles": lig.canonical_smiles}
        for lig in checked.ligands
    ]
    library_uri = storage.put_json(settings.inputs_bucket, f"campaigns/{campaign_id}/library.json", library)
    protein = checked.protein
    if protein.structure:
        protein = protein.model_copy(update={"structure": store_text(tenant, protein.structure).uri})
    campaign = Campaign(
        campaign_id=campaign_id,
        tenant=tenant,
        name=request.name,
        labels=request.labels,
        protein=protein,
        stages=request.stages,
        library_uri=library_uri,
        library_size=len(library),
        rejected=checked.rejected_count,
        metered=budgeted,
    )
    store.create_campaign(campaign)
    # Stage 0 runs the library as validated above: its ligands, numbered as its own batch's rows
    first_batch = Validated(
        spec=checked.spec,
        params=checked.params,
        protein=checked.protein,
        ligands=[lig.model_copy(update={"row": lig.index}) for lig in checked.ligands],
        rejected=[],
    )
    _start_stage(campaign, 0, [str(lig["name"]) for lig in library], library, first_batch)
    return accepted.model_copy(update={"campaign_id": campaign_id, "status": CampaignStatus.RUNNING.value})


def _batch_request(
    request: CampaignRequest | Campaign, model: str, params: dict[str, Any], ligands: list[LigandIn], on_invalid: str
) -> BatchRequest:
    try:
        return _stage_request(request, model, params, ligands, on_invalid)
    except ValidationError as exc:  # the plan's own fields, re-checked as a batch's: still the caller's input
        raise InputError.from_validation("the campaign has invalid input", exc) from None


def _stage_request(
    request: CampaignRequest | Campaign, model: str, params: dict[str, Any], ligands: list[LigandIn], on_invalid: str
) -> BatchRequest:
    return BatchRequest.model_validate(
        {
            "name": f"{request.name or 'campaign'} · {model}",
            "model": model,
            "params": params,
            "protein": request.protein.model_dump(),
            "ligands": [lig.model_dump() for lig in ligands],
            "on_invalid": on_invalid,
            "labels": request.labels,
        }
    )


def _start_stage(
    campaign: Campaign,
    n: int,
    names: list[str],
    library: list[dict[str, Any]] | None = None,
    validated: Validated | None = None,
) -> None:
    """Stage n as an ordinary batch of `names`, carrying campaign and stage. Its model may refuse
    some of them (skipped, and recorded as why those ligands stopped)."""
    plan = campaign.stages[n]
    if library is None:
        smiles = {lig.name: lig.canonical_smiles for lig in load_library(campaign)}
    else:
        smiles = {lig["name"]: lig["smiles"] for lig in library}
    ligands = [LigandIn(name=name, smiles=smiles[name]) for name in names]
    request = _batch_request(campaign, plan.model, plan.params, ligands, "skip")
    batch_id = stage_batch_id(campaign.campaign_id, n)
    outcome = submit_batch(
        request,
        campaign.tenant,
        idempotency_key=f"campaign:{campaign.campaign_id}:stage:{n}",
        budgeted=campaign.metered,
        batch_id=batch_id,
        campaign=CampaignRef(campaign_id=campaign.campaign_id, stage=n),
        validated=validated,
    )
    refused = {
        names[row["loc"][1]]: row["msg"]
        for row in outcome.rejected_rows
        if len(row.get("loc") or []) > 1 and isinstance(row["loc"][1], int)
    }
    state = StageState(batch_id=batch_id, selected=len(names), submitted=outcome.accepted, refused=refused)
    store.record_stage(campaign.campaign_id, n, state)


def on_batch_done(event: BatchDone) -> str:
    """A `batch-done` delivery: only a campaign stage's own batch moves its campaign."""
    if event.campaign_id is None or event.campaign_stage is None:
        return "not-a-campaign"
    campaign = store.get_campaign(event.campaign_id)
    if (
        campaign is None
        or campaign.tenant != event.tenant
        or event.batch_id != stage_batch_id(campaign.campaign_id, event.campaign_stage)
    ):
        log.warning("batch-done of %s names campaign %s it is no stage of", event.batch_id, event.campaign_id)
        return "not-a-stage"
    return advance(campaign, event.campaign_stage, event.status, event.results, event.succeeded, event.failed)


def advance(
    campaign: Campaign, n: int, status: BatchStatus, results: dict[str, str], succeeded: int, failed: int
) -> str:
    """The one step after stage n: the next stage, or the campaign's end. Exactly once however
    often it is asked (create-only claim advance-{n}); a holder that fails releases the claim and
    the delivery is retried."""
    if campaign.status.is_final:
        return "already-final"
    token = store.claim_advance(campaign.campaign_id, n, OWNER, get_settings().finalize_lease_s)
    if token is None:
        return "claimed-elsewhere"
    try:
        outcome = _advance_claimed(campaign, n, status, results, succeeded, failed)
        store.finish_advance(campaign.campaign_id, n, token)
    except Exception:
        store.release_advance(campaign.campaign_id, n, token)
        raise
    log.info("campaign %s after stage %d: %s", campaign.campaign_id, n, outcome)
    return outcome


def _advance_claimed(
    campaign: Campaign, n: int, status: BatchStatus, results: dict[str, str], succeeded: int, failed: int
) -> str:
    plan = campaign.stages[n]
    store.record_stage_end(
        campaign.campaign_id, n, {"status": status.value, "succeeded": succeeded, "failed": failed, "results": results}
    )
    fresh = store.get_campaign(campaign.campaign_id) or campaign  # a cancel may have come since
    if fresh.cancel_requested or status == BatchStatus.CANCELLED:
        finish(fresh, CampaignStatus.CANCELLED, f"cancelled during stage {plan.name}")
        return "cancelled"
    if status == BatchStatus.FAILED:
        finish(fresh, CampaignStatus.FAILED, f"stage {plan.name} failed: none of its {failed} jobs succeeded")
        return "failed"
    if n == len(campaign.stages) - 1:
        finish(fresh, CampaignStatus.COMPLETED, f"all {len(campaign.stages)} stages ran")
        return "completed"
    began = time.perf_counter()
    chosen, _ = selection(fresh, n, stage_rows(results, files=False))
    nxt = campaign.stages[n + 1]
    if not chosen:
        finish(fresh, CampaignStatus.COMPLETED, f"stage {nxt.name}'s selection kept no ligand of stage {plan.name}")
        return "nothing-selected"
    selected = time.perf_counter()
    _start_stage(fresh, n + 1, chosen)
    if (latest := store.get_campaign(campaign.campaign_id)) is not None and latest.cancel_requested:
        _cancel_stage_batch(latest, n + 1)  # a cancel that came while the stage was starting
    # the two parts of the step between stages, for whoever tunes it
    return (
        f"started-stage-{n + 1} ({len(chosen)} selected in {selected - began:.2f} s, "
        f"batch submitted in {time.perf_counter() - selected:.2f} s)"
    )


def get_owned(campaign_id: str, tenant: str) -> Campaign:
    campaign = store.get_campaign(campaign_id)
    if campaign is None or campaign.tenant != tenant:
        raise NotFound(f"campaign {campaign_id} not found")
    return campaign


def cancel_campaign(campaign_id: str, tenant: str) -> Campaign:
    """Cancels the running stage and starts no more; the stage's cancelled batch-done ends the
    campaign (status cancelled). Cancelling a cancelled campaign again is a no-op."""
    campaign = get_owned(campaign_id, tenant)
    if campaign.status.is_final:
        if campaign.status != CampaignStatus.CANCELLED:
            raise Conflict(
                f"campaign {campaign_id} already ended ({campaign.status.value}); there is nothing to cancel"
            )
        return campaign
    store.request_cancel(campaign_id)
    campaign = store.get_campaign(campaign_id) or campaign
    _cancel_stage_batch(campaign, campaign.current)
    return store.get_campaign(campaign_id) or campaign


def _cancel_stage_batch(campaign: Campaign, n: int) -> None:
    state = campaign.stage_state(n)
    if state is None:
        return
    try:
        control.cancel_batch(state.batch_id, campaign.tenant)
    except Conflict:
        # Already finished: its batch-done is (or was) the step that sees the cancel flag; if that
        # step already ran, take it here (the claim makes a second one a no-op).
        batch = batch_store.get_batch(state.batch_id)
        if batch is not None and batch.status.is_final:
            advance(campaign, n, batch.status, batch.results, batch.succeeded or 0, batch.failed or 0)


def redrive(limit: int) -> int:
    """The reconciler's part: a running campaign whose current stage's batch is final but whose
    step after it never completed (its batch-done was lost, or its holder died) is advanced here."""
    moved = 0
    settled = utcnow() - timedelta(seconds=get_settings().queued_grace_s)
    for campaign in store.running_campaigns(limit):
        n = campaign.current
        if n < 0:
            # Its submit died between recording the campaign and starting stage 0: started here,
            # under the same idempotency key, so a submit still under way cannot make two.
            if campaign.created_at < settled:
                _start_stage(campaign, 0, [lig.name for lig in load_library(campaign)])
                moved += 1
            continue
        if store.advance_done(campaign.campaign_id, n):
            continue
        batch = batch_store.get_batch(stage_batch_id(campaign.campaign_id, n))
        if batch is None or not batch.status.is_final or not batch.results:
            continue
        outcome = advance(campaign, n, batch.status, batch.results, batch.succeeded or 0, batch.failed or 0)
        moved += outcome != "claimed-elsewhere"
    return moved
