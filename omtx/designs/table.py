"""The designs table: one row per designed sequence across a campaign's jobs, as the read API,
the exports and the report list it; sorting, filtering, CSV and the FASTA of passing designs.
Pure functions over the jobs' results (results.json `raw.designs`, written by the rfantibody
predictor)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from omtx import spreadsheet
from omtx.predictors.rfantibody.inputs import CDR_NAMES
from omtx.predictors.rfantibody.outputs import RF2_KEYS

FILTER_NAMES = ("rf2_pae", "design_rf2_rmsd")
# ddG needs PyRosetta, which the pipeline does not install (filters.py): always a column, empty
# unless a later pipeline computes it, and never counted as passed.
COLUMNS = (
    "job_id",
    "run",
    "tag",
    "backbone_tag",
    "status",
    "passes_filters",
    *(f"filter_{name}" for name in FILTER_NAMES),
    "filter_rosetta_ddg",
    *RF2_KEYS,
    "rosetta_ddg",
    "mindist",
    "averagemin",
    *(f"cdr_{loop}" for loop in CDR_NAMES),
    "heavy_sequence",
    "light_sequence",
    "full_sequence",
    "structure",
    "stand_in",
)
NUMERIC = {*RF2_KEYS, "rosetta_ddg", "mindist", "averagemin"}
FLAGS = {"passes_filters", *(f"filter_{name}" for name in FILTER_NAMES)}


def job_rows(job_id: str, run: str, result: dict[str, Any], structure_link: str) -> list[dict[str, Any]]:
    """The rows of one succeeded design job; `structure_link` is formatted with the design's
    file name ({name})."""
    raw = result.get("raw") or {}
    files = result.get("files") or {}
    stand_in = "stand_in" in (raw.get("tool") or {})
    rows = []
    for design in raw.get("designs", []):
        checks = {c["name"]: c["passed"] for c in design.get("filters", [])}
        heavy, light = design.get("heavy_sequence"), design.get("light_sequence")
        name = f"{design['tag']}.pdb"
        row: dict[str, Any] = {
            "job_id": job_id,
            "run": run,
            "tag": design["tag"],
            "backbone_tag": design.get("backbone_tag"),
            "status": design.get("status"),
            "passes_filters": bool(design.get("passes_filters")),
            **{f"filter_{n}": checks.get(n) for n in FILTER_NAMES},
            "filter_rosetta_ddg": None,
            **{k: design.get(k) for k in RF2_KEYS},
            "rosetta_ddg": (design.get("extra_scores") or {}).get("rosetta_ddg"),
            "mindist": design.get("mindist"),
            "averagemin": design.get("averagemin"),
            **{f"cdr_{loop}": design.get(f"cdr_{loop}") for loop in CDR_NAMES},
            "heavy_sequence": heavy,
            "light_sequence": light,
            "full_sequence": "/".join(s for s in (heavy, light) if s) or None,
            "structure": structure_link.format(name=name) if name in files else None,
            "stand_in": stand_in,
        }
        rows.append(row)
    return rows


class TableQueryError(ValueError):
    """A sort or filter the table cannot apply; the message names the parameter."""


def select(
    rows: Iterable[dict[str, Any]],
    *,
    order_by: str | None = "interaction_pae",
    descending: bool = False,
    ranges: Iterable[tuple[str, str, float]] = (),
    flags: dict[str, bool] | None = None,
) -> list[dict[str, Any]]:
    """Rows within every range (metric, ">=" | "<=", value) and with every flag as asked, in
    the order asked; rows missing the ordering metric come last, whatever the direction."""
    ranges, flags = list(ranges), flags or {}
    for name, _, _ in ranges:
        if name not in NUMERIC:
            raise TableQueryError(f"min_/max_{name}: not a numeric column; one of {', '.join(sorted(NUMERIC))}")
    for name in flags:
        if name not in FLAGS:
            raise TableQueryError(f"{name}: not a filter flag; one of {', '.join(sorted(FLAGS))}")
    if order_by is not None and order_by not in NUMERIC:
        raise TableQueryError(f"order_by={order_by}: not a numeric column; one of {', '.join(sorted(NUMERIC))}")

    def keep(row: dict[str, Any]) -> bool:
        for name, op, value in ranges:
            have = row.get(name)
            if have is None or (have < value if op == ">=" else have > value):
                return False
        return all(row.get(name) is wanted for name, wanted in flags.items())

    chosen = [row for row in rows if keep(row)]
    if order_by is None:
        return chosen
    present = [r for r in chosen if _number(r.get(order_by))]
    missing = [r for r in chosen if not _number(r.get(order_by))]
    present.sort(key=lambda r: (r[order_by], r["tag"]), reverse=descending)
    return present + missing


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def to_csv(rows: Iterable[dict[str, Any]]) -> bytes:
    return spreadsheet.table(rows, COLUMNS)


def passing_fasta(rows: Iterable[dict[str, Any]], width: int = 80) -> str:
    """One record per chain of each passing design (heavy, then light for an scFv), best
    interaction pAE first: `>tag|H interaction_pae=… pae=… run=…`."""
    records = []
    for row in select([r for r in rows if r["passes_filters"]], order_by="interaction_pae"):
        note = " ".join(
            f"{k}={row[k]}"
            for k in ("interaction_pae", "pae", "target_aligned_antibody_rmsd")
            if row.get(k) is not None
        )
        for chain, key in (("H", "heavy_sequence"), ("L", "light_sequence")):
            sequence = row.get(key)
            if sequence:
                lines = [sequence[i : i + width] for i in range(0, len(sequence), width)]
                records.append(f">{row['tag']}|{chain} {note} run={row['run']}\n" + "\n".join(lines) + "\n")
    return "".join(records)
