"""`omtx campaign submit|watch|results|cancel`: screening campaigns over the HTTPS API."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from omtx.cli.client import ApiError, api_client

app = typer.Typer(help="Screening campaigns: a funnel of stages, each a batch.", no_args_is_help=True)
console = Console()
CampaignId = Annotated[str, typer.Argument(help="The campaign id")]


def call(method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    try:
        return api_client().call(method, path, **kwargs)
    except ApiError as exc:
        console.print(f"[red]{exc}[/red]")
        for item in exc.body.get("detail", []):
            loc = ".".join(str(p) for p in item.get("loc", []))
            console.print(f"  [bold]{loc}[/bold]: {item.get('msg')}")
        raise typer.Exit(1) from exc


def submit_request(request: dict[str, Any], dry_run: bool = False) -> dict[str, Any]:
    body = call("POST", "/v1/campaigns", json=request, params={"dry_run": "true"} if dry_run else None)
    table = Table(title="dry-run estimate" if dry_run else f"campaign {body['campaign_id']}")
    for column in ("stage", "model", "ligands (at most)", "compute s", "cost USD", "ETA s"):
        table.add_column(column)
    for s in body["stages"]:
        e = s["estimate"]
        table.add_row(
            s["stage"], s["model"], str(s["ligands"]), str(e["compute_seconds"]), str(e["cost_usd"]), str(e["eta_s"])
        )
    console.print(table)
    console.print(
        f"{body['accepted']} ligands accepted, {body['rejected']} rejected; "
        f"{body['jobs']} jobs at most, {body['compute_seconds']} compute s, ${body['cost_usd']} ({body['basis']})"
    )
    return body


@app.command("submit")
def submit(
    path: Annotated[Path, typer.Argument(help="A campaign JSON (protein, ligands, stages)", exists=True)],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate and estimate only")] = False,
) -> None:
    """Submit a campaign; prints its per-stage estimate."""
    body = submit_request(json.loads(path.read_text()), dry_run)
    if body.get("campaign_id"):
        console.print(f"watch it: omtx campaign watch {body['campaign_id']}")


def watch_campaign(campaign_id: str, interval: float = 1.0) -> dict[str, Any]:
    last = None
    while True:
        body = call("GET", f"/v1/campaigns/{campaign_id}")
        line = " → ".join(
            f"{s['stage']} {s['state']} {s['done']}/{s['submitted'] if s['submitted'] is not None else '?'}"
            for s in body["stages"]
        )
        if line != last:
            eta = f", ETA {body['eta_s']:.0f} s" if body.get("eta_s") else ""
            console.print(f"[{time.strftime('%H:%M:%S')}] {line}{eta}")
            last = line
        if body["status"] != "running":
            console.print(f"campaign {campaign_id}: [bold]{body['status']}[/bold] — {body['reason']}")
            return body
        time.sleep(interval)


@app.command("watch")
def watch(campaign_id: CampaignId, interval: float = typer.Option(1.0, help="Seconds between polls")) -> None:
    """Follow a campaign stage by stage until it ends."""
    watch_campaign(campaign_id, interval)


def print_results(campaign_id: str, top: int = 10, order_by: str | None = None) -> None:
    params: dict[str, Any] = {"limit": top}
    if order_by:
        params["order_by"] = order_by
    body = call("GET", f"/v1/campaigns/{campaign_id}/results", params=params)
    summary = call("GET", f"/v1/campaigns/{campaign_id}")
    funnel = f"library {summary['library_size']}" + "".join(
        f" → {s['stage']} {s['submitted'] if s['submitted'] is not None else 0}" for s in summary["stages"]
    )
    console.print(f"funnel: {funnel}")
    rows = body["rows"]
    metric_columns = [k for k in (rows[0] if rows else {}) if "." in k and not k.endswith((".status", ".error"))]
    table = Table(title=f"top {len(rows)} of {body['total']} ligands")
    for column in ("rank", "ligand", "last stage", *metric_columns[-4:], "why it left"):
        table.add_column(column)
    for r in rows:
        values = [_fmt(r.get(c)) for c in metric_columns[-4:]]
        table.add_row(
            _fmt(r["final_rank"]), str(r["ligand_name"]), str(r["last_stage"]), *values, str(r["exit_reason"])
        )
    console.print(table)


@app.command("results")
def results(
    campaign_id: CampaignId,
    top: int = typer.Option(10, min=1, max=1000, help="Rows to show"),
    order_by: str | None = typer.Option(None, help="A column (e.g. dock.vina_score); '-' for descending"),
) -> None:
    """The campaign's ligands, best final rank first: each stage's metrics and why it left."""
    print_results(campaign_id, top, order_by)


@app.command("cancel")
def cancel(campaign_id: CampaignId) -> None:
    """Cancel the running stage and start no more."""
    body = call("POST", f"/v1/campaigns/{campaign_id}/cancel")
    console.print(f"campaign {campaign_id}: {body['status']} {body.get('reason') or '(cancelling)'}")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return "" if value is None else str(value)
