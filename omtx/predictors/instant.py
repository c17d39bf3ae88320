"""A test model that answers instantly: deterministic pseudo-scores derived from the input hash.
It exists for load tests and benchmarks of the pipeline itself; its numbers mean nothing."""

from __future__ import annotations

import hashlib

from pydantic import BaseModel, ConfigDict, Field

from omtx.domain import ProteinIn
from omtx.predictors.base import LigandTask, Prediction, PredictionFailed


class InstantParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fail_every: int = Field(0, ge=0, description="fail every n-th ligand by index (0: never), to exercise failures")


class Instant:
    def predict(self, protein: ProteinIn, ligand: LigandTask, params: BaseModel) -> Prediction:
        assert isinstance(params, InstantParams)
        if params.fail_every and (ligand.index + 1) % params.fail_every == 0:
            raise PredictionFailed(f"instant model fails every {params.fail_every}th ligand by request")
        digest = hashlib.sha256(f"{protein.sequence}|{ligand.canonical_smiles}".encode()).digest()
        return Prediction(metrics={"score": round(int.from_bytes(digest[:4]) / 2**32, 6)})


def create() -> Instant:
    return Instant()
