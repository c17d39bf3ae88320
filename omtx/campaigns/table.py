"""The campaign's results table: one row per library ligand, every stage's metrics under the
stage's name, the last stage it reached, why it left (which rule), and its final rank."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

BASE_COLUMNS = ["index", "ligand_name", "canonical_smiles", "last_stage", "exit_reason", "final_rank"]
PASSED = "passed every stage"


@dataclass(frozen=True)
class LibraryLigand:
    index: int
    name: str
    canonical_smiles: str


@dataclass(frozen=True)
class StageRow:
    status: str  # the job's: succeeded | failed | cancelled…
    metrics: dict[str, Any]
    error: str | None = None
    files: dict[str, str] = field(default_factory=dict)  # the job's files by name (poses for the report)


@dataclass
class StageResult:
    """What one stage that ran left: its jobs by ligand name, and why the ligands it ran did not
    go on to the next stage (the next stage's selection rule, or its model refusing them)."""

    name: str
    primary_metric: str
    higher_is_better: bool
    rows: dict[str, StageRow] = field(default_factory=dict)
    exits: dict[str, str] = field(default_factory=dict)


def build(
    library: list[LibraryLigand], stages: list[StageResult], ended: str | None
) -> tuple[list[str], list[dict[str, Any]]]:
    """Columns and rows, best final rank first. `ended`: why the campaign stopped before its last
    stage (None when it ran them all); given to ligands that succeeded in the deepest stage run."""
    columns = list(BASE_COLUMNS)
    for stage in stages:
        names: list[str] = ["status"]
        for row in stage.rows.values():
            names += [m for m in row.metrics if m not in names]
        if any(row.error for row in stage.rows.values()):
            names.append("error")
        columns += [f"{stage.name}.{m}" for m in names]
    ranks = _final_ranks(stages[-1]) if stages else {}
    rows: list[dict[str, Any]] = []
    for ligand in library:
        out: dict[str, Any] = {
            "index": ligand.index,
            "ligand_name": ligand.name,
            "canonical_smiles": ligand.canonical_smiles,
        }
        last, reason = None, "not run"
        for n, stage in enumerate(stages):
            result = stage.rows.get(ligand.name)
            if result is None:
                break
            last = stage.name
            out[f"{stage.name}.status"] = result.status
            out.update({f"{stage.name}.{k}": v for k, v in result.metrics.items()})
            if result.error:
                out[f"{stage.name}.error"] = result.error
            if result.status != "succeeded":
                reason = f"{result.status} in {stage.name}" + (f": {result.error}" if result.error else "")
            elif ligand.name in stage.exits:
                reason = stage.exits[ligand.name]
            elif n == len(stages) - 1:
                reason = ended or PASSED
        out["last_stage"] = last
        out["exit_reason"] = reason
        out["final_rank"] = ranks.get(ligand.name)
        rows.append(out)
    rows.sort(key=lambda r: (r["final_rank"] is None, r["final_rank"] or 0, r["index"]))
    return columns, rows


def _final_ranks(stage: StageResult) -> dict[str, int]:
    """1 = best by the deepest stage's primary metric, among the ligands that succeeded there."""
    scored = []
    for name, row in stage.rows.items():
        value = row.metrics.get(stage.primary_metric)
        if row.status == "succeeded" and isinstance(value, int | float) and not isinstance(value, bool):
            if math.isfinite(value):
                scored.append((-value if stage.higher_is_better else value, name))
    scored.sort()
    return {name: i + 1 for i, (_, name) in enumerate(scored)}


def funnel(library: int, stages: list[StageResult], planned: list[str]) -> list[dict[str, Any]]:
    """Counts per stage: in (ligands run), succeeded, failed, and how many went on."""
    out = []
    for n, name in enumerate(planned):
        stage = stages[n] if n < len(stages) else None
        if stage is None:
            out.append({"stage": name, "ran": False, "in": 0, "succeeded": 0, "failed": 0, "selected_next": 0})
            continue
        succeeded = sum(r.status == "succeeded" for r in stage.rows.values())
        nxt = stages[n + 1] if n + 1 < len(stages) else None
        out.append(
            {
                "stage": name,
                "ran": True,
                "in": len(stage.rows),
                "succeeded": succeeded,
                "failed": len(stage.rows) - succeeded,
                "selected_next": len(nxt.rows) if nxt else 0,
            }
        )
    return [{"stage": "library", "in": library}, *out]
