"""`omtx results`: a batch's hits, best first by its model's primary metric unless another metric
is asked for, and a metric the model does not write refused with the ones it does."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from omtx.cli.client import ApiClient

# Job fields the results API orders by besides the metrics (omtx/gcp/firestore/jobs.JOB_FIELDS)
JOB_FIELDS = ("duration_s", "ligand_name", "index", "inchikey", "canonical_smiles")
# Shown when present, after the primary metric: the columns a chemist reads first
SHOWN = (
    "vina_score",
    "pb_valid",
    "fits_box",
    "dock_seconds",
    "qed",
    "mw",
    "clogp",
    "tpsa",
    "hbd",
    "hba",
    "lipinski_pass",
)


class UnknownMetric(ValueError):
    """The batch's model writes no such metric; the message names the ones it writes."""


# View parameters `omtx results` sets from its own options, never from --where
OWN_OPTIONS = {"order_by": "--sort", "limit": "--top", "cursor": "--top", "fields": "the table's columns"}


class BadFilter(ValueError):
    """A --where option that is not NAME=VALUE."""


def filters(where: list[str]) -> dict[str, str]:
    """`--where` options (`pb_valid=true`, `min_qed=0.5`) as the results view's query parameters;
    the server checks each name against the batch's metrics and each value against its kind."""
    found: dict[str, str] = {}
    for item in where:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise BadFilter(f"--where {item!r}: write NAME=VALUE, e.g. pb_valid=true or min_qed=0.5")
        if name.strip() in OWN_OPTIONS:
            raise BadFilter(f"--where {item!r}: use {OWN_OPTIONS[name.strip()]} instead")
        if name.strip() in found:
            raise BadFilter(f"--where {item!r}: {name.strip()} is given twice")
        found[name.strip()] = value.strip()
    return found


def model_of(client: ApiClient, name: str) -> dict[str, Any] | None:
    return next((m for m in client.models()["models"] if m["name"] == name), None)


def order_for(client: ApiClient, batch: dict[str, Any], sort: str | None) -> tuple[str | None, str | None]:
    """(order_by for the results API, the model's primary metric). No `sort`: the primary metric,
    best first. A sort on a metric the model does not write: UnknownMetric, once a job has
    succeeded to show which metrics it writes."""
    model = model_of(client, batch["model"])
    primary = model["primary_metric"] if model else None
    if sort is None:
        if model is None:
            return None, None
        return ("-" if model["higher_is_better"] else "") + model["primary_metric"], primary
    wanted = sort.removeprefix("-")
    if wanted == primary or wanted in JOB_FIELDS:
        return sort, primary
    sample = client.results(batch["batch_id"], limit=1, status="succeeded")["jobs"]
    if sample and wanted not in sample[0]["metrics"]:
        raise UnknownMetric(_unknown(batch, model, wanted, list(sample[0]["metrics"])))
    return sort, primary


def _unknown(batch: dict[str, Any], model: dict[str, Any] | None, wanted: str, written: list[str]) -> str:
    metrics: list[str] = []
    for name in written:
        if model and name == model["primary_metric"]:
            direction = "higher is better" if model["higher_is_better"] else "lower is better"
            metrics.insert(0, f"{name} (primary, {direction})")
        else:
            metrics.append(name)
    return (
        f"batch {batch['batch_id']} ran {batch['model']}, which has no metric {wanted!r}. Its metrics: "
        f"{', '.join(metrics)}; or a job field: {', '.join(JOB_FIELDS)}"
    )


def print_results(
    console: Console,
    body: dict[str, Any],
    top: int,
    primary: str | None,
    order: str | None,
    where: dict[str, str] | None = None,
) -> None:
    jobs = body["jobs"][:top]
    metrics = [primary] if primary and any(primary in j["metrics"] for j in jobs) else []
    metrics += [k for k in SHOWN if k not in metrics and any(k in j["metrics"] for j in jobs)]
    if not metrics and jobs:
        metrics = [k for k, v in jobs[0]["metrics"].items() if isinstance(v, int | float)][:6]
    ordered = (
        f" by {order.removeprefix('-')} ({'descending' if order.startswith('-') else 'ascending'})" if order else ""
    )
    table = Table(title=f"batch {body['batch_id']} ({body['status']}){ordered}")
    for column in ("rank", "#", "ligand", "ok", *metrics):
        table.add_column(column, no_wrap=column == "ligand", min_width=12 if column == "ligand" else None)
    for rank, job in enumerate(jobs, 1):
        status = "yes" if job["status"] == "succeeded" else f"[red]{job['status']}[/red]: {job.get('error')}"
        cells = (_fmt(job["metrics"].get(m)) for m in metrics)
        table.add_row(str(rank), str(job["index"]), job["ligand_name"], status, *cells)
    console.print(table)
    if not jobs and where:
        console.print("no job matches " + " and ".join(f"{k}={v}" for k, v in where.items()))
    elif not jobs:
        console.print("no job has " + (f"a value for {order.removeprefix('-')} yet" if order else "finished yet"))
    results = body.get("results") or {}
    if results:
        folder = min(results.values(), key=len).rsplit("/", 1)[0]
        console.print(f"result files ({len(results)}): {folder}/ and {folder}/results/")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    return "" if value is None else str(value)
