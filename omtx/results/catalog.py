"""What a results query may name: the job fields a row carries, and the batch's metrics with their
kinds. A name reaches a query (a polars column, a Firestore field path) only after it was found
here, so nothing a client writes is ever interpolated into one unchecked."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["number", "boolean", "text", "json"]
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Every row's own fields, in the order a row and an export list them.
ROW_FIELDS = (
    "job_id",
    "index",
    "ligand_name",
    "smiles",
    "canonical_smiles",
    "inchikey",
    "status",
    "error",
    "executor",
    "attempts",
    "retries",
    "cached_from",
    "duration_s",
)
ALWAYS = ("job_id", "index")  # in every projection: a row's identity and its cursor key
# Job fields a view may also order by (and range-filter, the numbers)
JOB_COLUMNS: dict[str, Kind] = {
    "index": "number",
    "duration_s": "number",
    "ligand_name": "text",
    "canonical_smiles": "text",
    "inchikey": "text",
}
ORDERABLE: frozenset[Kind] = frozenset({"number", "boolean", "text"})


def metric_column(name: str) -> str:
    """A metric's column in an export: its name, or metric.<name> where a fixed column has that
    name (omtx.aggregation's rule)."""
    from omtx.aggregation import FIXED

    return f"metric.{name}" if name in FIXED else name


SPEC_KINDS: dict[str, Kind] = {"number": "number", "bool": "boolean", "text": "text"}


def declared(model: str) -> dict[str, Kind]:
    """The metrics a model says it reports (ModelSpec.metric_kinds, its primary metric a number):
    a view may name them before any job has one."""
    from omtx.predictors.registry import MODELS

    spec = MODELS.get(model)
    if spec is None:
        return {}
    kinds: dict[str, Kind] = {spec.primary_metric: "number"}
    return kinds | {name: SPEC_KINDS.get(kind, "text") for name, kind in spec.metric_kinds.items()}


def kind_of(value: Any) -> Kind | None:
    """A metric value's kind; None for a null (it says nothing)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "text"
    return "json"


def merge_kind(old: Kind | None, new: Kind | None) -> Kind | None:
    """Two kinds seen for one metric; a mix is written as text (as aggregation writes it)."""
    if old is None or new is None or old == new:
        return old or new
    return "text"


@dataclass(frozen=True)
class Catalog:
    """The batch's metrics (addressable names only) and their kinds."""

    metrics: dict[str, Kind] = field(default_factory=dict)

    def kind(self, name: str) -> Kind | None:
        return JOB_COLUMNS.get(name) or (None if name in ROW_FIELDS else self.metrics.get(name))

    def is_metric(self, name: str) -> bool:
        return name in self.metrics and name not in ROW_FIELDS

    def described(self) -> str:
        """The metrics for an error message: `qed (number), lipinski_pass (boolean)`."""
        shown = [f"{name} ({kind})" for name, kind in sorted(self.metrics.items()) if name not in ROW_FIELDS]
        return ", ".join(shown) if shown else "none yet (no job has succeeded)"

    @classmethod
    def of(cls, kinds: dict[str, Kind]) -> Catalog:
        return cls({name: kind for name, kind in kinds.items() if NAME.fullmatch(name)})
