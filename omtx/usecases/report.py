"""report.html of a finished batch: its best hits with their 2D drawings, the summary's pose
checks and the best complexes read back from storage (the file each model declares in its
ModelSpec.structure)."""

from __future__ import annotations

from typing import Any, Literal

from omtx import depiction
from omtx.aggregation import TOP_HITS, Spool
from omtx.gcp import storage
from omtx.predictors.base import ModelSpec
from omtx.report.html import Structure, render

COMPLEXES_IN_REPORT = 3
# Row fields the report needs of each hit besides the fixed ones.
POSE_FIELDS = ("pb_valid", "pb_failed")


def hit_fields(spec: ModelSpec) -> tuple[str, ...]:
    """What the spool keeps of each best hit: the pose checks and the parts of the structure's
    file name."""
    return POSE_FIELDS + (spec.structure.fields if spec.structure else ())


def pose_summary(flags: dict[str, dict[str, float]]) -> dict[str, Any] | None:
    """The fraction of succeeded jobs whose best pose passes every PoseBusters check."""
    counts = flags.get("pb_valid")
    if counts is None:
        return None
    return {
        "best_poses_checked": counts["n"],
        "best_poses_valid": counts["true"],
        "fraction_valid": counts["fraction_true"],
    }


def report_html(header: dict[str, Any], spool: Spool, spec: ModelSpec, pose_checks: dict[str, Any] | None) -> str:
    hits = spool.best(TOP_HITS)
    if spec.depicts_ligand:
        # Drawn here, once per report, for its hits only (the worker stores one per job for the console).
        hits = [hit | {"drawing": depiction.drawing_or_none(hit["canonical_smiles"])} for hit in hits]
    metric = spec.primary_metric
    return render(header, spool.metric_stats(), hits, spool.values(metric), best_complexes(spool, spec), pose_checks)


def structure_format(name: str) -> Literal["cif", "pdb", "sdf"]:
    return "pdb" if name.endswith(".pdb") else "sdf" if name.endswith(".sdf") else "cif"


def best_complexes(spool: Spool, spec: ModelSpec) -> list[Structure]:
    """The declared structure of the best hits that have one, best first, at most three."""
    view = spec.structure
    if view is None:
        return []
    found = []
    for hit in spool.best(TOP_HITS):
        name = view.file_for(hit)
        uri = hit["files"].get(name) if name else None
        if name is None or uri is None:
            continue
        title = f"#{hit['index']} {hit['ligand_name']}: {spec.primary_metric} {hit.get(spec.primary_metric)}"
        if "pb_valid" in hit:
            title += " · PoseBusters " + (
                "valid" if hit["pb_valid"] else "fails: " + ", ".join(hit.get("pb_failed") or [])
            )
        text = storage.get_bytes(uri).decode(errors="replace")
        found.append(Structure(title, structure_format(name), text, view.kind))
        if len(found) == COMPLEXES_IN_REPORT:
            break
    return found
