"""Builds report.html: top hits, the distribution of the primary metric, summary statistics and
3D views of the best poses, all inline."""

from __future__ import annotations

import base64
import hashlib
import html
import json
from collections.abc import Sequence
from importlib import resources
from typing import Any

BINS = 30
VIEWER = resources.files("omtx.report").joinpath("viewer.js").read_text()
# The report's one script, allowed by its hash: whatever a ligand is named, nothing else runs,
# also when the file is opened from a bucket or a disk rather than through the API.
VIEWER_SCRIPT_SOURCE = f"'sha256-{base64.b64encode(hashlib.sha256(VIEWER.encode()).digest()).decode()}'"
REPORT_POLICY = (
    f"default-src 'none'; script-src {VIEWER_SCRIPT_SOURCE}; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'"
)


def histogram_svg(values: Sequence[float], label: str, width: int = 640, height: int = 220) -> str:
    if not values:
        return "<p>No numeric values to plot.</p>"
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    counts = [0] * BINS
    for v in values:
        counts[min(BINS - 1, int((v - lo) / span * BINS))] += 1
    top = max(counts)
    pad, bar_w = 40, (width - 50) / BINS
    bars = "".join(
        f'<rect x="{pad + i * bar_w:.1f}" y="{height - 30 - c / top * (height - 50):.1f}" '
        f'width="{bar_w - 1:.1f}" height="{c / top * (height - 50):.1f}" fill="#4c78a8">'
        f"<title>{lo + i * span / BINS:.3g}–{lo + (i + 1) * span / BINS:.3g}: {c}</title></rect>"
        for i, c in enumerate(counts)
    )
    axis = (
        f'<text x="{pad}" y="{height - 12}" font-size="11">{lo:.3g}</text>'
        f'<text x="{width - 10}" y="{height - 12}" font-size="11" text-anchor="end">{hi:.3g}</text>'
        f'<text x="{width / 2}" y="{height - 2}" font-size="12" text-anchor="middle">{html.escape(label)}</text>'
        f'<text x="4" y="14" font-size="11">n={len(values)}, max bin {top}</text>'
    )
    return f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img">{bars}{axis}</svg>'


def render(
    header: dict[str, Any],
    stats: dict[str, dict[str, float]],
    top_hits: list[dict[str, Any]],
    values: Sequence[float],
    structures: list[tuple[str, str, str]],  # (title, format "sdf"|"cif", text)
) -> str:
    metric = header.get("primary_metric") or ""
    e = html.escape
    hit_rows = "".join(
        f"<tr><td>{h['index']}</td><td>{e(str(h['ligand_name']))}</td><td>{_fmt(h.get(metric))}</td>"
        f"<td><code>{e(str(h['canonical_smiles']))}</code></td></tr>"
        for h in top_hits
    )
    stat_rows = "".join(
        f"<tr><td>{e(k)}</td>"
        + "".join(f"<td>{_fmt(s[c])}</td>" for c in ("n", "mean", "min", "q1", "median", "q3", "max"))
        + "</tr>"
        for k, s in stats.items()
    )
    views = "".join(
        f'<figure><canvas width="360" height="300" data-structure="s{i}" data-format="{fmt}"></canvas>'
        f"<figcaption>{e(title)}</figcaption></figure>"
        f'<script type="text/plain" id="s{i}">{e(text)}</script>'
        for i, (title, fmt, text) in enumerate(structures)
    )
    direction = "higher is better" if header.get("higher_is_better", True) else "lower is better"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{REPORT_POLICY}">
<title>{e(str(header.get("name") or header["batch_id"]))}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; }}
table {{ border-collapse: collapse; margin: 1rem 0; }} td, th {{ border: 1px solid #ddd; padding: 4px 8px; }}
th {{ background: #f3f3f3; }} figure {{ display: inline-block; margin: 0 1rem 1rem 0; }}
canvas {{ border: 1px solid #ccc; cursor: grab; }} code {{ font-size: 0.85em; }}
</style></head><body>
<h1>{e(str(header.get("name") or "Batch " + header["batch_id"]))}</h1>
<p>Batch <code>{e(header["batch_id"])}</code> · model <b>{e(header["model"])}</b> ({e(header["model_version"])}) ·
status <b>{e(header["status"])}</b> ·
{header["succeeded"]} succeeded, {header["failed"]} failed of {header["total"]}</p>
<h2>Top hits by {e(metric)} ({direction})</h2>
<table><tr><th>#</th><th>ligand</th><th>{e(metric)}</th><th>canonical SMILES</th></tr>{hit_rows}</table>
<h2>Distribution of {e(metric)}</h2>{histogram_svg(values, metric)}
<h2>Best poses</h2><p>Drag to rotate, scroll to zoom.</p>{views or "<p>No structures were produced.</p>"}
<h2>Summary statistics (succeeded jobs)</h2>
<table><tr><th>metric</th><th>n</th><th>mean</th><th>min</th><th>q1</th><th>median</th><th>q3</th><th>max</th></tr>
{stat_rows}</table>
<script type="application/json" id="header">{e(json.dumps(header, default=str))}</script>
<script>{VIEWER}</script>
</body></html>
"""


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape("" if value is None else str(value))
