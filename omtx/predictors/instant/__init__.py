"""`instant`: a test model that answers instantly, with deterministic pseudo-scores derived from
the input hash. It exists for load tests and benchmarks of the pipeline itself; its numbers mean
nothing.

This package's `SPEC` is what the platform knows of the model (the registry reads it); `params`
is what a job may ask for and `predictor` answers, with its factory `create`."""

from __future__ import annotations

from omtx.domain import Limits
from omtx.predictors.base import CostModel, Metric, ModelSpec
from omtx.predictors.instant.params import InstantParams
from omtx.predictors.instant.predictor import Instant, create

__all__ = ["SPEC", "Instant", "InstantParams", "create"]

SPEC = ModelSpec(
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
    metrics=(Metric("score", "", "deterministic pseudo-score, 0–1; means nothing"),),
    # its rows are not hits: no drawing, so its figures measure the pipeline alone
    depicts_ligand=False,
)
