"""The instant predictor: a score per ligand from a hash of the protein and the SMILES, at once,
and a failure on request, so load tests exercise both outcomes without any model's cost."""

from __future__ import annotations

import hashlib

from pydantic import BaseModel

from omtx.domain import ProteinIn
from omtx.predictors.base import LigandTask, Prediction, PredictionFailed
from omtx.predictors.instant.params import InstantParams


class Instant:
    def predict(self, protein: ProteinIn, ligand: LigandTask, params: BaseModel) -> Prediction:
        assert isinstance(params, InstantParams)
        if params.fail_every and (ligand.index + 1) % params.fail_every == 0:
            raise PredictionFailed(f"instant model fails every {params.fail_every}th ligand by request")
        digest = hashlib.sha256(f"{protein.sequence}|{ligand.canonical_smiles}".encode()).digest()
        return Prediction(metrics={"score": round(int.from_bytes(digest[:4]) / 2**32, 6)})


def create() -> Instant:
    return Instant()
