"""One design job's results from its three Quivers: a row per designed sequence, the filters,
the best design and the summary metrics. Pure functions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from omtx import spreadsheet
from omtx.predictors.rfantibody.filters import apply_filters
from omtx.predictors.rfantibody.inputs import CDR_NAMES, InputProblem, summarize_pdb
from omtx.predictors.rfantibody.outputs import RF2_KEYS, RFDIFFUSION_KEYS, QuiverEntry, base_tags
from omtx.predictors.rfantibody.params import RfantibodyParams

CSV_COLUMNS = (
    "tag",
    "backbone_tag",
    "status",
    "passes_filters",
    *RF2_KEYS,
    *RFDIFFUSION_KEYS,
    "heavy_sequence",
    "light_sequence",
    *(f"cdr_{loop}" for loop in CDR_NAMES),
)


@dataclass(frozen=True)
class Designs:
    rows: list[dict[str, Any]]
    structures: dict[str, str]  # RF2 tag → PDB text, for predicted designs
    backbones: int
    sequences: int
    mpnn_failed: dict[str, str]


def design_rows(
    backbones: list[QuiverEntry],
    sequences: list[QuiverEntry],
    predictions: list[QuiverEntry],
    params: RfantibodyParams,
    mpnn_failed: dict[str, str],
) -> Designs:
    """A row for every sequence ProteinMPNN wrote: predicted by RF2 and filtered, or marked as
    not predicted; RF2 entries are matched to their inputs by tag (`<sequence>_best`)."""
    hotspot_scores = {b.tag: b.scores for b in backbones}
    predicted = {base_tags(p.tag)[0]: p for p in predictions}
    rows: list[dict[str, Any]] = []
    structures: dict[str, str] = {}
    for sequence in sequences:
        backbone = sequence.tag.rsplit("_dldesign_", 1)[0]
        row: dict[str, Any] = {"tag": f"{sequence.tag}_best", "backbone_tag": backbone}
        row.update({k: hotspot_scores.get(backbone, {}).get(k) for k in RFDIFFUSION_KEYS})
        entry = predicted.pop(sequence.tag, None)
        if entry is None:
            row.update(status="not_predicted", passes_filters=False, filters=[])
            rows.append(row)
            continue
        row.update(_scored(entry, params))
        row.update(_sequences(entry))
        structures[entry.tag] = entry.pdb
        rows.append(row)
    # RF2 entries with no ProteinMPNN input should not exist; kept rather than hidden if they do.
    for entry in predicted.values():
        row = {"tag": entry.tag, "backbone_tag": base_tags(entry.tag)[1]}
        row.update({k: None for k in RFDIFFUSION_KEYS})
        row.update(_scored(entry, params))
        row.update(_sequences(entry))
        structures[entry.tag] = entry.pdb
        rows.append(row)
    return Designs(rows, structures, len(backbones), len(sequences), mpnn_failed)


def _scored(entry: QuiverEntry, params: RfantibodyParams) -> dict[str, Any]:
    missing = [k for k in ("interaction_pae", "pae", "pred_lddt") if k not in entry.scores]
    checks = apply_filters(entry.scores, params)
    return {
        "status": "no_scores" if missing else "predicted",
        **{k: entry.scores.get(k) for k in RF2_KEYS},
        # metrics a later RFantibody might add are kept, not dropped
        "extra_scores": {k: v for k, v in entry.scores.items() if k not in RF2_KEYS},
        "passes_filters": not missing and all(c.passed for c in checks),
        "filters": [c.as_dict() for c in checks],
    }


def _sequences(entry: QuiverEntry) -> dict[str, Any]:
    try:
        summary = summarize_pdb(entry.lines)
    except InputProblem:
        return {"heavy_sequence": None, "light_sequence": None, **{f"cdr_{n}": None for n in CDR_NAMES}}
    return {
        "heavy_sequence": summary.sequence("H") or None,
        "light_sequence": summary.sequence("L") or None,
        **{f"cdr_{n}": summary.loop_sequence(n) or None for n in CDR_NAMES},
    }


def best_row(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Passing designs first, then the lowest interaction pAE, then the highest pLDDT."""
    scored = [r for r in rows if r["status"] == "predicted" and r.get("interaction_pae") is not None]
    if not scored:
        return None
    return min(scored, key=lambda r: (not r["passes_filters"], r["interaction_pae"], -(r.get("pred_lddt") or 0.0)))


def summary_metrics(designs: Designs, params: RfantibodyParams) -> dict[str, Any]:
    rows = designs.rows
    predicted = sum(1 for r in rows if r["status"] == "predicted")
    passing = sum(1 for r in rows if r["passes_filters"])
    best = best_row(rows)
    metrics: dict[str, Any] = {
        "designs_requested": params.num_designs,
        "backbones": designs.backbones,
        "sequences": designs.sequences,
        "predicted": predicted,
        "passing": passing,
        "pass_rate": round(passing / predicted, 4) if predicted else 0.0,
        "mpnn_failed_backbones": len(designs.mpnn_failed),
        "best_tag": best["tag"] if best else None,
        "best_passes_filters": bool(best and best["passes_filters"]),
    }
    for key in ("interaction_pae", "pae", "pred_lddt", "target_aligned_antibody_rmsd", "target_aligned_cdr_rmsd"):
        metrics[f"best_{key}"] = best.get(key) if best else None
    metrics["best_heavy_sequence"] = best.get("heavy_sequence") if best else None
    metrics["best_light_sequence"] = best.get("light_sequence") if best else None
    return metrics


def designs_csv(rows: list[dict[str, Any]]) -> bytes:
    """The designs table as the bytes of a CSV file that opens safely in Excel (omtx.spreadsheet)."""
    return spreadsheet.table(rows, CSV_COLUMNS)
