"""The published RFantibody design filters, applied to RF2's scores and recorded per design.

Source: RosettaCommons/RFantibody README, "Filtering Strategies" (pinned commit): "We recommend
the following minimal filtering criteria: RF2 pAE < 10; RMSD (design versus RF2 predicted) < 2 Å;
It may also be helpful to filter by Rosetta ddG < -20". The README does not say which of RF2's
pAE or RMSD outputs it means: the metric read is a parameter and is recorded with every check.
Rosetta ddG needs PyRosetta (scripts/scoring/minterface.py), which the pipeline does not install:
it is recorded as not evaluated, never as passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from omtx.predictors.rfantibody.outputs import Scores
from omtx.predictors.rfantibody.params import RfantibodyParams

FILTER_SOURCE = "RosettaCommons/RFantibody README.md, 'Filtering Strategies' (commit 8fe3114)"
ROSETTA_DDG_THRESHOLD = -20.0


@dataclass(frozen=True)
class Check:
    name: str
    metric: str
    threshold: float
    value: float | None
    passed: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "metric": self.metric,
            "op": "<",
            "threshold": self.threshold,
            "value": self.value,
            "passed": self.passed,
        }


def apply_filters(scores: Scores, params: RfantibodyParams) -> tuple[Check, ...]:
    """A metric RF2 did not report fails its check: a design is never passed on missing data
    (RF2 skips the target-aligned RMSDs when the target lengths differ, for one)."""
    checks = []
    for name, metric, threshold in (
        ("rf2_pae", params.pae_metric, params.max_pae),
        ("design_rf2_rmsd", params.rmsd_metric, params.max_rmsd),
    ):
        value = scores.get(metric)
        checks.append(Check(name, metric, threshold, value, value is not None and value < threshold))
    return tuple(checks)


def filter_definition(params: RfantibodyParams) -> dict[str, Any]:
    """What `passes_filters` means in this job's results."""
    return {
        "source": FILTER_SOURCE,
        "checks": [
            {"name": "rf2_pae", "metric": params.pae_metric, "op": "<", "threshold": params.max_pae},
            {"name": "design_rf2_rmsd", "metric": params.rmsd_metric, "op": "<", "threshold": params.max_rmsd},
        ],
        "not_evaluated": [
            {
                "name": "rosetta_ddg",
                "op": "<",
                "threshold": ROSETTA_DDG_THRESHOLD,
                "why": "needs PyRosetta (scripts/scoring/minterface.py); not part of the pipeline image",
            }
        ],
    }
