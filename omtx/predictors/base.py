"""The contract every model implements, whatever hardware it runs on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel

from omtx.domain import ProteinIn


class LigandTask(BaseModel):
    """One ligand of a work order, as the worker needs it."""

    job_id: str
    index: int
    name: str
    canonical_smiles: str


@dataclass(frozen=True)
class Prediction:
    metrics: dict[str, Any]
    # file name → (content, media type); the worker stores them beside results.json
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)


class PredictionFailed(Exception):
    """The model ran and cannot produce a result for this ligand; the message is the reason."""


class Predictor(Protocol):
    def predict(self, protein: ProteinIn, ligand: LigandTask, params: BaseModel) -> Prediction: ...


@dataclass(frozen=True)
class ModelSpec:
    """What the platform needs to know about a model to validate, dispatch and run it."""

    name: str
    version: str
    description: str
    params: type[BaseModel]
    chunk_size: int
    hardware: str
    # "module:attribute" of the Predictor factory, imported only where the model runs
    predictor: str
    primary_metric: str
    higher_is_better: bool
