"""Selection rules: thresholds on a stage's metrics, then the best `top_k` or `top_fraction` by
one metric. Applied to the previous stage's succeeded results; every ligand left behind is given
the rule that stopped it."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Op = Literal[">=", ">", "<=", "<", "==", "!="]
_THRESHOLD = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(>=|<=|==|!=|>|<)\s*(\S.*?)\s*$")


class Threshold(BaseModel):
    """`metric op value`, e.g. `qed >= 0.5`, `pb_valid == true`. A ligand without the metric (or
    with a value of the wrong kind) does not pass."""

    model_config = ConfigDict(extra="forbid")

    metric: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.]*$")
    op: Op
    value: bool | float

    @classmethod
    def parse(cls, text: str) -> Threshold:
        match = _THRESHOLD.match(text)
        if not match:
            raise ValueError(f"{text!r} is not `metric op value` (op one of >=, >, <=, <, ==, !=)")
        metric, op, raw = match.groups()
        lowered = raw.lower()
        value: bool | float
        if lowered in ("true", "false"):
            value = lowered == "true"
        else:
            try:
                value = float(raw)
            except ValueError:
                raise ValueError(f"{text!r}: the value must be a number, true or false") from None
            if not math.isfinite(value):
                raise ValueError(f"{text!r}: the value must be finite")
        return cls(metric=metric, op=op, value=value)

    @model_validator(mode="after")
    def _bool_equality_only(self) -> Threshold:
        if isinstance(self.value, bool) and self.op not in ("==", "!="):
            raise ValueError(f"{self.metric} {self.op} {self.text_value}: true/false compare with == or != only")
        return self

    @property
    def text_value(self) -> str:
        return str(self.value).lower() if isinstance(self.value, bool) else f"{self.value:g}"

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.text_value}"

    def passes(self, metrics: dict[str, Any]) -> bool:
        got = metrics.get(self.metric)
        if isinstance(self.value, bool):
            if not isinstance(got, bool):
                return False
            return (got == self.value) if self.op == "==" else (got != self.value)
        if isinstance(got, bool) or not isinstance(got, int | float) or not math.isfinite(got):
            return False
        return {
            ">=": got >= self.value,
            ">": got > self.value,
            "<=": got <= self.value,
            "<": got < self.value,
            "==": got == self.value,
            "!=": got != self.value,
        }[self.op]


class Selection(BaseModel):
    """What passes from one stage to the next: every threshold (`where`), then the best `top_k`
    or `top_fraction` of those by `by` (default: the previous model's primary metric) in
    `direction` (default: that metric's better direction). Neither top_k nor top_fraction: all
    that pass the thresholds."""

    model_config = ConfigDict(extra="forbid")

    where: list[Threshold] = Field(default_factory=list, max_length=20)
    top_k: int | None = Field(None, ge=1)
    top_fraction: float | None = Field(None, gt=0, le=1)
    by: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_.]*$")
    direction: Literal["higher", "lower"] | None = None

    @field_validator("where", mode="before")
    @classmethod
    def _parse_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list):
            return [Threshold.parse(v) if isinstance(v, str) else v for v in value]
        return value

    @model_validator(mode="after")
    def _one_cut(self) -> Selection:
        if self.top_k is not None and self.top_fraction is not None:
            raise ValueError("give top_k or top_fraction, not both")
        return self

    def metrics(self, default_by: str) -> list[str]:
        named = [t.metric for t in self.where]
        if self.top_k is not None or self.top_fraction is not None:
            named.append(self.by or default_by)
        return named

    def size_for(self, passing: int) -> int:
        """How many of `passing` ligands the cut keeps (the dry-run estimate uses it too)."""
        if self.top_k is not None:
            return min(self.top_k, passing)
        if self.top_fraction is not None:
            # round first: 0.1 × 1000 is 100.00000000000001 in floating point
            return min(passing, math.ceil(round(self.top_fraction * passing, 9)))
        return passing


@dataclass(frozen=True)
class Candidate:
    """One ligand's succeeded result in the previous stage."""

    name: str
    metrics: dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    selected: list[str]  # names, best first when a cut ranks them
    reasons: dict[str, str]  # name → the rule that stopped it


def select(candidates: list[Candidate], rule: Selection, default_by: str, higher_is_better: bool) -> Outcome:
    reasons: dict[str, str] = {}
    passing: list[Candidate] = []
    for candidate in candidates:
        failed = next((t for t in rule.where if not t.passes(candidate.metrics)), None)
        if failed is None:
            passing.append(candidate)
        else:
            got = candidate.metrics.get(failed.metric)
            reasons[candidate.name] = f"{failed} (was {_show(got)})"
    if rule.top_k is None and rule.top_fraction is None:
        return Outcome([c.name for c in passing], reasons)
    by = rule.by or default_by
    higher = higher_is_better if rule.direction is None else rule.direction == "higher"
    ranked, unranked = [], []
    for candidate in passing:
        value = candidate.metrics.get(by)
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            ranked.append((-value if higher else value, candidate.name))
        else:
            unranked.append(candidate.name)
    ranked.sort()  # ties broken by name: the same results always select the same ligands
    keep = rule.size_for(len(ranked))
    cut = f"top {rule.top_k}" if rule.top_k is not None else f"top {rule.top_fraction:.0%}"
    cut += f" by {by} ({'higher' if higher else 'lower'} is better)"
    order = [name for _, name in ranked]
    for name in order[keep:]:
        reasons[name] = f"outside the {cut}"
    for name in unranked:
        reasons[name] = f"no {by} to rank by"
    return Outcome(order[:keep], reasons)


def _show(value: Any) -> str:
    if value is None:
        return "missing"
    return str(value).lower() if isinstance(value, bool) else str(value)
