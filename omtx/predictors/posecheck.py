"""A model's predicted complex through PoseBusters (omtx.poses): the adapters of the co-folding
and design models call this on the Prediction they built, so every structure they return carries
`pb_valid` and `pb_failed`. Docking checks all its poses itself (omtx/predictors/vina)."""

from __future__ import annotations

import dataclasses

from omtx.predictors.base import Prediction, StructureView


def with_pose_check(prediction: Prediction, view: StructureView, smiles: str | None) -> Prediction:
    """The prediction with the check's metrics added and its per-check detail in raw. A complex
    that fails is still the result, flagged; one the model did not write is flagged too."""
    from omtx.poses import PoseCheck, check_structure

    name = view.file_for(prediction.metrics)
    stored = prediction.files.get(name) if name else None
    if stored is None:
        check = PoseCheck(valid=[False], failed=[["structure_missing"]], level=["cheap"], note=f"no file {name}")
    else:
        text = stored[0].decode(errors="replace")
        check = check_structure(text, smiles, "protein" if view.kind == "protein_complex" else "ligand")
    return dataclasses.replace(
        prediction,
        metrics=prediction.metrics | check.metrics(),
        raw=(prediction.raw or {}) | check.raw(),
    )
