"""Finishing a campaign: its results table (one row per library ligand) as CSV, Parquet,
summary.json and report.html, then `campaign-done`, once, under the campaign's finish claim."""

from __future__ import annotations

import csv
import io
import json
import logging
import socket
import uuid
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from omtx import spreadsheet
from omtx.aggregation import FIXED
from omtx.campaigns import table
from omtx.campaigns.rules import Candidate, Selection, select
from omtx.campaigns.state import Campaign, CampaignStatus
from omtx.domain import utcnow
from omtx.events import CampaignDone, CampaignStageCount
from omtx.gcp import pubsub, storage
from omtx.gcp.firestore import campaigns as store
from omtx.predictors.registry import get_model
from omtx.report.campaign import render_campaign
from omtx.settings import get_settings

log = logging.getLogger(__name__)
OWNER = f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"
HITS_IN_REPORT = 25
POSES_IN_REPORT = 3
RESULT_FILES = {
    "csv": ("campaign_results.csv", spreadsheet.MEDIA_TYPE),
    "parquet": ("campaign_results.parquet", "application/vnd.apache.parquet"),
    "summary_json": ("summary.json", "application/json"),
    "report_html": ("report.html", "text/html; charset=utf-8"),
}


def load_library(campaign: Campaign) -> list[table.LibraryLigand]:
    rows = json.loads(storage.get_bytes(campaign.library_uri))
    return [table.LibraryLigand(r["index"], r["name"], r["canonical_smiles"]) for r in rows]


KEPT_COLUMNS = {"ligand_name", "status", "error", "files"}


def stage_rows(results: dict[str, str], *, files: bool = True) -> dict[str, table.StageRow]:
    """A finished stage's jobs by ligand name, from its batch's Parquet (the batch-done manifest):
    one object read, however many jobs; only the columns a campaign uses are decoded (`files`
    only for the report)."""
    uri = results.get("parquet")
    if uri is None:
        return {}
    source = pq.ParquetFile(io.BytesIO(storage.get_bytes(uri)))
    wanted = KEPT_COLUMNS if files else KEPT_COLUMNS - {"files"}
    columns = [c for c in source.schema_arrow.names if c in wanted or c not in FIXED or c.startswith("metric.")]
    read = source.read(columns=columns)
    # Column by column: far faster than row dicts (to_pylist) for 10,000 rows.
    values = {name: read.column(name).to_pylist() for name in read.column_names}
    metric_names = [c for c in read.column_names if c not in KEPT_COLUMNS]
    errors = values.get("error") or [None] * read.num_rows
    file_maps = values.get("files") or [None] * read.num_rows
    rows = {}
    for i, name in enumerate(values["ligand_name"]):
        metrics = {m.removeprefix("metric."): values[m][i] for m in metric_names if values[m][i] is not None}
        found = file_maps[i] or {}
        found = json.loads(found) if isinstance(found, str) else found
        rows[name] = table.StageRow(values["status"][i], metrics, errors[i], dict(found))
    return rows


def selection(campaign: Campaign, n: int, rows: dict[str, table.StageRow]) -> tuple[list[str], dict[str, str]]:
    """Stage n+1's selection applied to stage n's succeeded rows; reasons name the rule."""
    plan = campaign.stages[n + 1]
    spec = get_model(campaign.stages[n].model)
    rule = plan.select or Selection()
    candidates = [Candidate(name, row.metrics) for name, row in rows.items() if row.status == "succeeded"]
    outcome = select(candidates, rule, spec.primary_metric, spec.higher_is_better)
    reasons = {name: f"{plan.name} selection: {why}" for name, why in outcome.reasons.items()}
    return outcome.selected, reasons


def finish(campaign: Campaign, status: CampaignStatus, reason: str) -> bool:
    """Results, the final status and campaign-done, once; False if another holder has it."""
    settings = get_settings()
    token = store.claim_finish(campaign.campaign_id, OWNER, settings.finalize_lease_s)
    if token is None:
        return False
    try:
        campaign = store.get_campaign(campaign.campaign_id) or campaign  # the stages as recorded now
        results, counts = write_results(campaign, status, reason)
        store.finish_campaign(campaign.campaign_id, status, reason, results)
        last = campaign.stage_state(campaign.current)
        event = CampaignDone(
            batch_id=last.batch_id if last else "",
            event_id=CampaignDone.stable_id(campaign.campaign_id),
            campaign_id=campaign.campaign_id,
            tenant=campaign.tenant,
            status=status.value,
            reason=reason,
            stages=counts,
            results=results,
            finished_at=utcnow(),
        )
        pubsub.publish(settings.topic_campaign_done, [event])
        store.finish_finish(campaign.campaign_id, token)
    except Exception:
        store.release_finish(campaign.campaign_id, token)
        raise
    log.info("campaign %s finished: %s (%s)", campaign.campaign_id, status.value, reason)
    return True


def write_results(
    campaign: Campaign, status: CampaignStatus, reason: str
) -> tuple[dict[str, str], list[CampaignStageCount]]:
    library = load_library(campaign)
    stages: list[table.StageResult] = []
    counts: list[CampaignStageCount] = []
    for n, plan in enumerate(campaign.stages):
        state = campaign.stage_state(n)
        spec = get_model(plan.model)
        count = CampaignStageCount(stage=plan.name, model=plan.model)
        if state is not None and state.results:
            ran = stage_rows(state.results)
            result = table.StageResult(plan.name, spec.primary_metric, spec.higher_is_better, ran)
            if n + 1 < len(campaign.stages) and status != CampaignStatus.CANCELLED and state.status != "cancelled":
                _, result.exits = selection(campaign, n, ran)
                nxt = campaign.stage_state(n + 1)
                for name, why in (nxt.refused if nxt else {}).items():
                    result.exits[name] = f"{campaign.stages[n + 1].name} refused it: {why}"
            stages.append(result)
            succeeded = sum(r.status == "succeeded" for r in ran.values())
            count = count.model_copy(
                update={
                    "batch_id": state.batch_id,
                    "ran": len(ran),
                    "succeeded": succeeded,
                    "failed": len(ran) - succeeded,
                }
            )
        if state is not None:
            count.selected = state.selected
        counts.append(count)
    ran_all = len(stages) == len(campaign.stages) and status == CampaignStatus.COMPLETED
    columns, rows = table.build(library, stages, None if ran_all else reason)
    base = f"campaigns/{campaign.campaign_id}/results"
    bucket = get_settings().results_bucket
    uris = {key: storage.gcs_uri(bucket, f"{base}/{name}") for key, (name, _) in RESULT_FILES.items()}
    hits = [r for r in rows if r["final_rank"] is not None]
    summary = {
        "schema_version": "1",
        "campaign_id": campaign.campaign_id,
        "name": campaign.name,
        "status": status.value,
        "reason": reason,
        "library": len(library),
        "rejected": campaign.rejected,
        "stages": [c.model_dump() for c in counts],
        "rules": {p.name: (p.select.model_dump(mode="json") if p.select else None) for p in campaign.stages},
        "best": hits[:10],
    }
    body = {
        "csv": _csv(columns, rows),
        "parquet": _parquet(columns, rows),
        "summary_json": json.dumps(summary, default=str).encode(),
        "report_html": _report(campaign, summary, counts, columns, hits, stages).encode(),
    }
    for key, (name, media) in RESULT_FILES.items():
        storage.put_bytes(bucket, f"{base}/{name}", body[key], media)
    return uris, counts


def _csv(columns: list[str], rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([spreadsheet.cell(row.get(c)) for c in columns])
    return out.getvalue().encode(spreadsheet.ENCODING)


def _parquet(columns: list[str], rows: list[dict[str, Any]]) -> bytes:
    arrays = {}
    for column in columns:
        values = [row.get(column) for row in rows]
        kinds = {type(v) for v in values if v is not None}
        if kinds <= {int, float} and kinds != {int}:
            values = [float(v) if v is not None else None for v in values]
        elif len(kinds) > 1:
            values = [json.dumps(v) if v is not None else None for v in values]
        arrays[column] = pa.array(values)
    out = io.BytesIO()
    pq.write_table(pa.table(arrays), out)
    return out.getvalue()


def _report(
    campaign: Campaign,
    summary: dict[str, Any],
    counts: list[CampaignStageCount],
    columns: list[str],
    hits: list[dict[str, Any]],
    stages: list[table.StageResult],
) -> str:
    funnel = [{"stage": "library", "in": summary["library"]}] + [
        {"stage": c.stage, "in": c.ran, "succeeded": c.succeeded, "failed": c.failed} for c in counts
    ]
    last = stages[-1].name if stages else None
    shown = ["final_rank", "ligand_name", "canonical_smiles"] + [
        c for c in columns if last and c.startswith(f"{last}.")
    ][:6]
    poses = []
    for hit in hits[:POSES_IN_REPORT]:
        row = stages[-1].rows.get(hit["ligand_name"])
        files = row.files if row else {}
        uri = next((u for n, u in files.items() if n.startswith(("complex.", "structure."))), None)
        if uri:
            fmt = "sdf" if uri.endswith(".sdf") else "cif"
            poses.append(
                (f"#{hit['final_rank']} {hit['ligand_name']}", fmt, storage.get_bytes(uri).decode(errors="replace"))
            )
    header = {
        "campaign_id": campaign.campaign_id,
        "name": campaign.name,
        "status": summary["status"],
        "reason": summary["reason"],
    }
    return render_campaign(header, funnel, hits[:HITS_IN_REPORT], shown, poses)
