"""Facets of a view, for a console's filter panel: how many rows match, the status counts, and per
metric its count, min, max and a histogram, in one answer.

The histogram's bins are fixed per batch (equal widths over the metric's whole range), so the
bars of two filters line up. The status counts ignore the view's own status filter, so a console
can show what choosing another status would give; everything else applies the whole filter."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from omtx.results.query import ResultsQuery
from omtx.results.table import ResultsTable

BINS = 20


def facets(table: ResultsTable, query: ResultsQuery) -> dict[str, Any]:
    mask = table.mask(query)
    selected = np.ones(table.n, dtype=bool) if mask is None else mask
    by_status = table.mask(query.without_status())
    statuses = table.df["status"] if by_status is None else table.df["status"].filter(pl.Series(by_status))
    status_counts = {str(k): int(v) for k, v in statuses.value_counts().iter_rows()}
    metrics: dict[str, Any] = {}
    for name, kind in sorted(table.catalog.metrics.items()):
        if not table.catalog.is_metric(name):
            continue
        if kind == "number":
            metrics[name] = _number_facet(table.numbers(name), selected)
        elif kind == "boolean":
            values = table.df[table.column(name)].filter(pl.Series(selected))
            metrics[name] = {
                "kind": "boolean",
                "count": values.len() - values.null_count(),
                "true": int(values.sum() or 0),
                "false": int((~values).sum() or 0),
            }
    return {"matched": int(selected.sum()), "total": table.n, "status_counts": status_counts, "metrics": metrics}


def _number_facet(values: np.ndarray[Any, Any], selected: np.ndarray[Any, Any]) -> dict[str, Any]:
    everywhere = values[~np.isnan(values)]
    chosen = values[selected]
    chosen = chosen[~np.isnan(chosen)]
    facet: dict[str, Any] = {
        "kind": "number",
        "count": len(chosen),
        "min": float(chosen.min()) if len(chosen) else None,
        "max": float(chosen.max()) if len(chosen) else None,
        "histogram": None,
    }
    if len(everywhere):
        counts, edges = np.histogram(chosen, bins=BINS, range=(float(everywhere.min()), float(everywhere.max())))
        facet["histogram"] = {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}
    return facet
