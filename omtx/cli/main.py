"""`omtx`: run the local stack, submit batches, watch them and read their results."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from omtx.cli import campaigns, control, dlq, keys, ranking
from omtx.cli.client import ApiClient, ApiError, api_client
from omtx.domain import FINAL_BATCH_STATUSES
from omtx.drops import REQUEST_SUFFIX
from omtx.libraries import EXTENSIONS, format_of, stem_of
from omtx.settings import get_settings

app = typer.Typer(help="OMTX-Hub: batch protein–ligand predictions.", no_args_is_help=True)
dev = typer.Typer(help="The local stack (emulators + services).", no_args_is_help=True)
app.add_typer(dev, name="dev")
app.add_typer(keys.app, name="keys")
app.add_typer(control.app, name="batch")
app.add_typer(dlq.app, name="dlq")
app.add_typer(campaigns.app, name="campaign")
console = Console()
FINAL = {s.value for s in FINAL_BATCH_STATUSES}


@app.callback()
def _use_local_stack() -> None:
    """On the local deployment every command talks to the local stack's emulators (the README
    promises no credentials locally); an emulator host set in the environment wins."""
    settings = get_settings()
    if settings.deployment == "local":
        for name, value in settings.emulator_env().items():
            os.environ.setdefault(name, value)


def _fail(exc: ApiError) -> typer.Exit:
    console.print(f"[red]{exc}[/red]")
    for item in exc.body.get("detail", []):
        console.print(f"  {_where(item)}: {item.get('msg')}  (input: {item.get('input')!r})")
    return typer.Exit(1)


def _where(item: dict[str, Any]) -> str:
    """A problem's place: the file line (and SD record) of a library's row, else its field."""
    loc = ".".join(str(p) for p in item.get("loc", []))
    if "record" in item:
        return f"[bold]record {item['record']} (line {item['line']})[/bold] {loc}"
    return f"[bold]line {item['line']}[/bold] {loc}" if "line" in item else f"[bold]{loc}[/bold]"


# --- dev ----------------------------------------------------------------------------------------


@dev.command("up")
def dev_up() -> None:
    """Start what is not running (healthy processes and all data are left alone) and wait until
    every part is healthy."""
    from omtx.devstack.stack import Stack, StackError

    stack = Stack(get_settings())
    try:
        seconds = stack.up()
    except StackError as exc:
        console.print(f"[red]stack failed to start:[/red] {exc}")
        raise typer.Exit(1) from exc
    note = "already running" if seconds == 0 else f"up in {seconds:.1f} s"
    console.print(f"[green]local stack {note}[/green]; API {get_settings().api_base_url}; logs in {stack.log_dir}")


@dev.command("down")
def dev_down(
    no_snapshot: bool = typer.Option(False, "--no-snapshot", help="Keep the last snapshot instead of taking one"),
) -> None:
    """Stop every process of the local stack; its data is kept for the next `dev up`."""
    from omtx.devstack.stack import Stack, StackError

    try:
        stopped = Stack(get_settings()).down(snapshot=not no_snapshot)
    except StackError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


@dev.command("restart")
def dev_restart(process: str = typer.Argument(..., help="pubsub, firestore, gcs, a service, scheduler")) -> None:
    """Restart one process of the running stack; the others and all data are left alone."""
    from omtx.devstack.stack import Stack, StackError

    try:
        seconds = Stack(get_settings()).restart(process)
    except StackError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"{process} restarted, healthy in {seconds:.1f} s")


@dev.command("reset")
def dev_reset(yes: bool = typer.Option(False, "--yes", help="Do not ask")) -> None:
    """Stop the stack and delete every local batch, job and file. The only command that wipes."""
    from omtx.devstack.stack import Stack

    if not yes:
        typer.confirm("Delete every batch, job and result file of the local stack?", abort=True)
    stopped = Stack(get_settings()).reset()
    console.print(f"stopped {', '.join(stopped) or 'nothing'}; local data deleted")


@dev.command("status")
def dev_status() -> None:
    """Show each process, its port, and whether it answers."""
    from omtx.devstack.stack import Stack

    rows = Stack(get_settings()).status()
    table = Table("process", "pid", "port", "alive", "healthy", "log")
    for r in rows:
        table.add_row(r.name, str(r.pid or "-"), str(r.port or "-"), _mark(r.alive), _mark(r.listening), r.log)
    console.print(table)
    if not all(r.alive and r.listening for r in rows):
        raise typer.Exit(1)


def _mark(ok: bool) -> str:
    return "[green]yes[/green]" if ok else "[red]no[/red]"


# --- batches ------------------------------------------------------------------------------------


@app.command()
def submit(
    file: Path = typer.Argument(
        ...,
        exists=True,
        readable=True,
        help="A batch request (.json) or a library (.csv .tsv .txt .smi .smiles .sdf .sd)",
    ),
    request: Path | None = typer.Option(
        None,
        "--request",
        exists=True,
        readable=True,
        help="A library's request (protein, model, params as JSON); default: <name>.request.json beside it, if any",
    ),
    name_field: str | None = typer.Option(None, "--name-field", help="An SD data item or CSV column naming ligands"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate and estimate only"),
    watch_batch: bool = typer.Option(False, "--watch", help="Follow the batch until it ends"),
) -> None:
    """Submit a batch: a JSON request (protein, model, params, ligands), or a library file with
    its request (the same conventions as a drop: docs/api.md, "Drops")."""
    if file.name.endswith(REQUEST_SUFFIX):
        raise typer.BadParameter(f"{file.name} is a library's request: give the library, and it is read beside it")
    if format_of(file.name) is None:
        if request is not None or name_field is not None:
            raise typer.BadParameter("--request and --name-field go with a library file", param_hint="--request")
        try:
            body = json.loads(file.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            console.print(f"[red]{file} is neither valid JSON nor a library ({', '.join(EXTENSIONS)}):[/red] {exc}")
            raise typer.Exit(1) from exc
        batch_id = _submit(lambda client: client.submit(body, dry_run=dry_run))
    else:
        request = request or _beside(file)
        part = _request_part(request, name_field)
        with file.open("rb") as library:
            batch_id = _submit(lambda client: client.submit_library(file.name, library, part, dry_run=dry_run))
    if watch_batch and batch_id:
        _watch(batch_id)


def _beside(library: Path) -> Path | None:
    beside = library.with_name(stem_of(library.name) + REQUEST_SUFFIX)
    if beside.exists():
        console.print(f"request: {beside}")
        return beside
    return None


def _request_part(request: Path | None, name_field: str | None) -> bytes | None:
    if name_field is None:
        return request.read_bytes() if request else None
    try:
        body = json.loads(request.read_bytes()) if request else {}
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise typer.BadParameter(f"{request} is not valid JSON: {exc}", param_hint="--request") from exc
    if not isinstance(body, dict) or body.get("name_field", name_field) != name_field:
        raise typer.BadParameter(f"{request} names another name_field", param_hint="--name-field")
    return json.dumps(body | {"name_field": name_field}).encode()


def _submit(send: Callable[[ApiClient], dict[str, Any]]) -> str | None:
    try:
        accepted = send(api_client())
    except ApiError as exc:
        raise _fail(exc) from exc
    what = "validated (dry run)" if accepted.get("dry_run") else f"batch [bold]{accepted['batch_id']}[/bold] accepted"
    console.print(f"{what}: {accepted['accepted']} jobs, model {accepted['model']}")
    for item in accepted.get("rejected_rows", []):
        console.print(f"  [red]rejected[/red] {_where(item)}: {item['msg']}")
    for item in accepted.get("warnings", []):
        console.print(f"  [yellow]warning[/yellow] {_where(item)}: {item['msg']}")
    batch_id: str | None = accepted["batch_id"]
    return batch_id


@app.command()
def watch(batch_id: str, interval: float = typer.Option(0.5, help="Seconds between polls")) -> None:
    """A live progress bar until the batch ends."""
    _watch(batch_id, interval)


def _watch(batch_id: str, interval: float = 0.5) -> None:
    client = api_client()
    try:
        batch = client.batch(batch_id)
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            task = progress.add_task(batch_id, total=batch["total"], detail="")
            while True:
                eta = f" · ETA {batch['eta_s']:.0f} s" if batch.get("eta_s") and batch["status"] not in FINAL else ""
                detail = f"{batch['status']} · {batch['succeeded']} ok · {batch['failed']} failed{eta}"
                progress.update(task, completed=batch["done"], detail=detail)
                if batch["status"] in FINAL:
                    break
                time.sleep(interval)
                batch = client.batch(batch_id)
    except ApiError as exc:
        raise _fail(exc) from exc
    colour = "green" if batch["status"] == "completed" else "yellow"
    console.print(f"batch {batch_id}: [{colour}]{batch['status']}[/{colour}]")


@app.command()
def results(
    batch_id: str,
    top: int = typer.Option(20, help="Rows to show"),
    sort: str | None = typer.Option(
        None, help="Metric to order by, '-' prefix for descending; default: the model's primary metric, best first"
    ),
    where: list[str] = typer.Option(
        [], help="A filter of the results view, NAME=VALUE: pb_valid=true, min_qed=0.5, max_vina_score=-7 (repeatable)"
    ),
) -> None:
    """The batch's hits as a table, ranked by the server."""
    client = api_client()
    try:
        _ranked(client, client.batch(batch_id), top, sort, ranking.filters(where))
    except ApiError as exc:
        raise _fail(exc) from exc
    except (ranking.UnknownMetric, ranking.BadFilter) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc


def _ranked(
    client: ApiClient, batch: dict[str, Any], top: int, sort: str | None = None, where: dict[str, str] | None = None
) -> None:
    order, primary = ranking.order_for(client, batch, sort)
    body = client.results(batch["batch_id"], limit=top, order_by=order, filters=where)
    ranking.print_results(console, body, top, primary, order, where)


# --- demo ---------------------------------------------------------------------------------------


@app.command()
def demo(
    screen: str = typer.Option("docking", help="docking: Vina into 1S2G; properties: RDKit on CDK2 ligands"),
    ligands: int = typer.Option(20, min=1, max=47, help="How many ligands to screen (docking: at most 20)"),
    campaign: bool = typer.Option(
        False, "--campaign", help="A three-stage funnel on 1S2G: RDKit filter → quick Vina → thorough Vina"
    ),
) -> None:
    """Bring the stack up, run a screen end to end, show the results and the batch-done event."""
    from google.cloud import pubsub_v1  # type: ignore[attr-defined]  # untyped package

    from omtx.cli.demo_data import campaign_request, demo_request, docking_request

    if campaign:
        started = time.monotonic()
        dev_up()
        body = campaigns.submit_request(campaign_request())
        campaigns.watch_campaign(body["campaign_id"])
        campaigns.print_results(body["campaign_id"], top=10)
        base = f"{get_settings().api_base_url}/v1/campaigns/{body['campaign_id']}/exports"
        console.print(f"demo wall time {time.monotonic() - started:.1f} s; report: {base}/report.html")
        return

    if screen not in ("docking", "properties"):
        raise typer.BadParameter("choose docking or properties", param_hint="--screen")
    request = docking_request(min(ligands, 20)) if screen == "docking" else demo_request(ligands)
    from omtx.devstack.stack import Stack

    settings = get_settings()
    started = time.monotonic()
    dev_up()
    # A separate subscriber, created before the batch, receives batch-done like a downstream system.
    subscriber = pubsub_v1.SubscriberClient()
    sub = subscriber.subscription_path(settings.project, f"demo-batch-done-{uuid.uuid4().hex[:8]}")
    subscriber.create_subscription(name=sub, topic=f"projects/{settings.project}/topics/{settings.topic_batch_done}")
    try:
        batch_id = _submit(lambda client: client.submit(request))
        assert batch_id is not None
        _watch(batch_id)
        client = api_client()
        _ranked(client, client.batch(batch_id), top=10)
        events = _pull_batch_done(subscriber, sub, batch_id)
    finally:
        subscriber.delete_subscription(subscription=sub)
    if len(events) != 1:
        console.print(f"[red]expected one batch-done event for {batch_id}, received {len(events)}[/red]")
        raise typer.Exit(1)
    event = events[0]
    console.print(
        f"batch-done received once: event_id={event['event_id']} status={event['status']} "
        f"succeeded={event['succeeded']} failed={event['failed']}"
    )
    console.print(f"demo wall time {time.monotonic() - started:.1f} s")
    api = f"{settings.api_base_url}/v1/batches/{batch_id}"
    console.print(
        f"Open the report: {api}/exports/report.html (CSV: {api}/exports/batch_results.csv)\n"
        f"The stack keeps running: `.venv/bin/omtx results {batch_id}`, `.venv/bin/omtx dev status`; "
        f"stop it with `make down`. Logs: {Stack(settings).log_dir}"
    )


def _pull_batch_done(subscriber: Any, subscription: str, batch_id: str, window_s: float = 3.0) -> list[dict[str, Any]]:
    """Everything batch-done delivers for this batch within a short window (to see duplicates)."""
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + window_s
    while time.monotonic() < deadline:
        response = subscriber.pull(subscription=subscription, max_messages=100, timeout=5)
        if response.received_messages:
            subscriber.acknowledge(subscription=subscription, ack_ids=[m.ack_id for m in response.received_messages])
        for received in response.received_messages:
            if received.message.attributes.get("batch_id") == batch_id:
                found.append(json.loads(received.message.data))
    return found


if __name__ == "__main__":
    app()
