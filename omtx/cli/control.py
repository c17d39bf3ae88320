"""`omtx batch cancel|retry|delete`: batch control over the HTTPS API (with OMTX_API_KEY where
the deployment requires keys)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console

from omtx.cli.client import ApiError, api_client

app = typer.Typer(help="Control a batch: cancel it, retry its failed jobs, delete it.", no_args_is_help=True)
console = Console()
BatchId = Annotated[str, typer.Argument(help="The batch id")]


def _call(method: str, path: str) -> dict[str, Any]:
    try:
        return api_client().call(method, path)
    except ApiError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc


@app.command("cancel")
def cancel(batch_id: BatchId) -> None:
    """Stop the batch: unfinished jobs are cancelled, finished ones keep their results."""
    body = _call("POST", f"/v1/batches/{batch_id}/cancel")
    note = " (it was cancelled already)" if body["repeated"] else ""
    console.print(
        f"batch {batch_id}: {body['status']}{note}; {body['cancelled_jobs']} jobs cancelled, "
        f"{body['calls_stopped']} calls stopped, {body['calls_not_stopped']} could not be stopped"
    )


@app.command("retry")
def retry(batch_id: BatchId) -> None:
    """Run the failed jobs of a finished batch again; it finalises again under a new revision."""
    body = _call("POST", f"/v1/batches/{batch_id}/retry")
    console.print(f"batch {batch_id}: {body['requeued']} failed jobs requeued, revision {body['revision']}")


@app.command("delete")
def delete(
    batch_id: BatchId,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation")] = False,
) -> None:
    """Delete a finished batch and all its data (documents, inputs, result files)."""
    if not yes:
        typer.confirm(f"Delete batch {batch_id} and all its files?", abort=True)
    _call("DELETE", f"/v1/batches/{batch_id}")
    console.print(f"batch {batch_id} deleted")
