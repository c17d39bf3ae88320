"""`omtx keys create|list|revoke`: the API keys of an `auth=api_key` deployment.

An operator's tool: it writes Firestore directly (the emulator when FIRESTORE_EMULATOR_HOST is
set, the project's database otherwise), because creating the first key cannot need a key. A new
key is printed once; only its SHA-256 is stored, so a lost key is revoked and replaced."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from omtx.domain import utcnow
from omtx.settings import get_settings
from omtx.tenancy import keys, limits
from omtx.tenancy.keys import Tier

app = typer.Typer(help="API keys: create (shown once), list, revoke.", no_args_is_help=True)
console = Console()


@app.command("create")
def create(
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant the key acts for (a-z, 0-9, '-')")],
    tier: Annotated[Tier, typer.Option("--tier", help="free and pro differ in rate limit; admin adds /v1/admin")] = (
        Tier.FREE
    ),
    label: Annotated[str | None, typer.Option("--label", help="Who or what holds the key")] = None,
    budget_gpu_s: Annotated[
        float | None,
        typer.Option("--budget-gpu-s", min=0, help="Set the tenant's GPU-second budget (default: the tier's, once)"),
    ] = None,
) -> None:
    """Create a key and print it (once)."""
    from omtx.gcp.firestore import tenants

    try:
        keys.check_tenant_name(tenant)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--tenant") from exc
    key_id, key = keys.generate()
    tenants.create_key(
        tenants.ApiKeyRecord(
            key_id=key_id, tenant=tenant, tier=tier, hash=keys.key_hash(key), label=label, created_at=utcnow()
        )
    )
    default = limits.default_budget_gpu_s(get_settings(), tier)
    budget = tenants.ensure_tenant(
        tenant, default if budget_gpu_s is None else budget_gpu_s, replace_budget=budget_gpu_s is not None
    )
    console.print(
        f"key [bold]{key_id}[/bold] for tenant {tenant} ({tier.value} tier); "
        f"tenant GPU budget {budget.budget_gpu_s:.0f} s, {budget.spent_gpu_s:.0f} s spent"
    )
    console.print("The key is shown this once; send it as Authorization: Bearer <key> or X-API-Key: <key>:")
    typer.echo(key)


@app.command("list")
def list_keys(
    tenant: Annotated[str | None, typer.Option("--tenant", help="Only this tenant's keys")] = None,
) -> None:
    """Every key (never the key itself): id, tenant, tier, label, created, revoked."""
    from omtx.gcp.firestore import tenants

    table = Table("key id", "tenant", "tier", "label", "created", "revoked")
    for record in tenants.list_keys(tenant):
        table.add_row(
            record.key_id,
            record.tenant,
            record.tier.value,
            record.label or "",
            record.created_at.isoformat(timespec="seconds"),
            record.revoked_at.isoformat(timespec="seconds") if record.revoked_at else "",
        )
    console.print(table)


@app.command("revoke")
def revoke(key_id: Annotated[str, typer.Argument(help="The key id (the 12 hex characters after omtx_)")]) -> None:
    """Revoke a key: its next request is 401. The record stays listed."""
    from omtx.gcp.firestore import tenants

    record = tenants.revoke_key(key_id)
    if record is None:
        console.print(f"[red]no key {key_id}[/red]")
        raise typer.Exit(1)
    assert record.revoked_at is not None
    console.print(f"key {key_id} of tenant {record.tenant} revoked at {record.revoked_at.isoformat()}")
