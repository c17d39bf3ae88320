"""Which models exist. Adding a model: one module under omtx/predictors and one entry here."""

from __future__ import annotations

import importlib
from functools import cache
from typing import Any

from pydantic import BaseModel, ValidationError

from omtx.errors import InputError
from omtx.predictors import boltz2, chai1, rfantibody, vina
from omtx.predictors.base import ChunkPredictor, CostModel, Limits, ModelSpec, Predictor
from omtx.predictors.instant import InstantParams
from omtx.predictors.rdkit_props import RdkitPropsParams

MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="rdkit_props",
            version="rdkit-props-1",
            description="RDKit descriptors (MW, cLogP, TPSA, HBD/HBA, QED, Lipinski) and an ETKDGv3 conformer",
            params=RdkitPropsParams,
            chunk_size=8,
            hardware="cpu",
            predictor="omtx.predictors.rdkit_props:create",
            primary_metric="qed",
            higher_is_better=True,
            limits=Limits(max_heavy_atoms=250),
            # Modal CPU: $0.0000131 per core-second (research/MODELS.md D.5), 2 cores.
            cost=CostModel(seconds_per_ligand=0.05, startup_s=3.0, hardware="cpu", usd_per_second=0.0000262),
        ),
        ModelSpec(
            name="instant",
            version="instant-1",
            description="Test model: instant deterministic pseudo-scores, for pipeline load tests only",
            params=InstantParams,
            chunk_size=50,
            hardware="cpu",
            predictor="omtx.predictors.instant:create",
            primary_metric="score",
            higher_is_better=True,
            limits=Limits(),
            cost=CostModel(seconds_per_ligand=0.0, hardware="cpu"),
            cacheable=False,  # a load-test model: every job must run
        ),
        vina.SPEC,
        boltz2.SPEC,
        chai1.SPEC,
        rfantibody.SPEC,
    )
}


def get_model(name: str) -> ModelSpec:
    try:
        return MODELS[name]
    except KeyError:
        known = ", ".join(sorted(MODELS))
        raise InputError(
            "unknown model",
            [{"loc": ["model"], "msg": f"unknown model; choose one of: {known}", "input": name}],
        ) from None


def parse_params(spec: ModelSpec, params: dict[str, Any]) -> BaseModel:
    try:
        return spec.params.model_validate(params)
    except ValidationError as exc:
        raise InputError.from_validation("invalid model parameters", exc, ("params",)) from exc


@cache
def load_predictor(name: str) -> Predictor | ChunkPredictor:
    module, _, attr = get_model(name).predictor.partition(":")
    factory = getattr(importlib.import_module(module), attr)
    predictor: Predictor | ChunkPredictor = factory()
    return predictor
