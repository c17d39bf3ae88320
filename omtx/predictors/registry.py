"""Which models exist: every subpackage of omtx.predictors is one model, and its `SPEC` says what
the platform needs to know of it. Adding a model is adding a folder (see README, "Models").

The registry imports each model's package, which holds its spec and parameters; the science
libraries a model runs with are imported only when its predictor runs (`load_predictor`)."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from typing import Any

from pydantic import BaseModel, ValidationError

import omtx.predictors
from omtx.errors import InputError
from omtx.predictors.base import ChunkPredictor, ModelSpec, Predictor


def model_packages() -> list[str]:
    """The names of the model folders: the subpackages of omtx.predictors, in name order."""
    return sorted(info.name for info in pkgutil.iter_modules(omtx.predictors.__path__) if info.ispkg)


def _load_specs() -> dict[str, ModelSpec]:
    specs: dict[str, ModelSpec] = {}
    for package in model_packages():
        spec = importlib.import_module(f"omtx.predictors.{package}").SPEC
        if not isinstance(spec, ModelSpec) or spec.name != package:
            # The folder is the model's name everywhere (requests, Modal, results): they must agree.
            raise RuntimeError(f"omtx.predictors.{package}.SPEC must be the ModelSpec of a model named {package!r}")
        specs[spec.name] = spec
    return specs


MODELS: dict[str, ModelSpec] = _load_specs()


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
