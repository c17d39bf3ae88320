"""A campaign as submitted: one protein, one ligand library and an ordered list of stages, each a
model with its parameters and the selection rule that feeds it from the stage before."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from omtx.campaigns.rules import Selection
from omtx.domain import LigandRows, ProteinIn

MAX_STAGES = 6


class StagePlan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$", description="Prefix of this stage's columns in the results")
    model: str
    params: dict[str, Any] = Field(default_factory=dict)
    select: Selection | None = Field(
        None,
        description="Applied to the previous stage's succeeded results; none on the first stage. "
        "Omitted on a later stage: every succeeded ligand goes on.",
    )


class CampaignRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=200)
    protein: ProteinIn
    ligands: LigandRows = Field(min_length=1)
    on_invalid: Literal["reject", "skip"] = "reject"
    stages: list[StagePlan] = Field(min_length=1, max_length=MAX_STAGES)
    labels: dict[str, str] = Field(default_factory=dict, max_length=32)

    @model_validator(mode="after")
    def _stage_names(self) -> CampaignRequest:
        names = [s.name for s in self.stages]
        if len(set(names)) != len(names):
            raise ValueError(f"stage names must be unique: {names}")
        return self


@dataclass(frozen=True)
class ModelFacts:
    """What plan validation needs of a model (the registry's ModelSpec, without importing it)."""

    name: str
    primary_metric: str
    higher_is_better: bool
    metrics: Mapping[str, str] = field(default_factory=dict)  # name → "number" | "bool" | "text"

    def known(self) -> set[str]:
        return {self.primary_metric, *self.metrics}


def rule_problems(request: CampaignRequest, facts: Callable[[str], ModelFacts | None]) -> list[dict[str, Any]]:
    """Every selection rule checked against the model of the stage it reads: each metric it names
    must be one that model declares, compared with a value of its kind."""
    problems: list[dict[str, Any]] = []
    for n, stage in enumerate(request.stages):
        loc = ["stages", n, "select"]
        if n == 0:
            if stage.select is not None:
                problems.append(
                    {"loc": loc, "msg": "the first stage runs on the whole library: no select", "input": None}
                )
            continue
        previous = facts(request.stages[n - 1].model)
        if stage.select is None or previous is None:
            continue
        kinds = {previous.primary_metric: "number", **previous.metrics}
        for i, threshold in enumerate(stage.select.where):
            kind = kinds.get(threshold.metric)
            if kind is None:
                problems.append(_unknown(loc + ["where", i], threshold.metric, previous))
            elif (kind == "bool") != isinstance(threshold.value, bool) or kind == "text":
                problems.append(
                    {
                        "loc": loc + ["where", i],
                        "msg": f"{threshold.metric} is a {kind} metric of {previous.name}; "
                        f"compare it with {'true/false' if kind == 'bool' else 'a number'}",
                        "input": str(threshold),
                    }
                )
        by = stage.select.by
        if by is not None and kinds.get(by) != "number":
            if by not in kinds:
                problems.append(_unknown(loc + ["by"], by, previous))
            else:
                problems.append({"loc": loc + ["by"], "msg": f"{by} is not a number to rank by", "input": by})
    return problems


def _unknown(loc: list[Any], metric: str, model: ModelFacts) -> dict[str, Any]:
    return {
        "loc": loc,
        "msg": f"{model.name} has no metric {metric!r}; it reports: {', '.join(sorted(model.known()))}",
        "input": metric,
    }


def stage_sizes(library: int, stages: list[StagePlan]) -> list[int]:
    """Ligands each stage runs, at most: thresholds cannot be known before the results, so the
    estimate assumes every ligand passes them and only the cut (top_k, top_fraction) shrinks the
    funnel. Failures are not assumed either."""
    sizes = [library]
    for stage in stages[1:]:
        sizes.append(stage.select.size_for(sizes[-1]) if stage.select else sizes[-1])
    return sizes
