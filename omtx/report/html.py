"""Builds report.html: top hits with their 2D drawings and pose checks, the distribution of the
primary metric, summary statistics and 3D views of the best complexes (3Dmol.js), all inline."""

from __future__ import annotations

import base64
import hashlib
import html
import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

from omtx.web import vendored

BINS = 30
THREE_DMOL = vendored("3Dmol-min.js")
VIEWER = resources.files("omtx.report").joinpath("viewer.js").read_text()


def script_source(script: str) -> str:
    """A Content-Security-Policy source that allows this one inline script, by its hash."""
    return f"'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'"


# The report's scripts (3Dmol.js and the viewer that starts it), each allowed by its hash:
# whatever a ligand is named, nothing else runs, also when the file is opened from a bucket or a
# disk rather than through the API. 3Dmol needs no 'unsafe-eval' (it evaluates only callbacks
# given as strings, which the viewer never does) and no worker (only surfaces use one).
VIEWER_SCRIPT_SOURCE = f"{script_source(THREE_DMOL)} {script_source(VIEWER)}"


def report_policy(script_sources: str) -> str:
    """A report's Content-Security-Policy: its inline styles and data: images, and only the
    scripts `script_sources` allow."""
    return (
        f"default-src 'none'; script-src {script_sources}; style-src 'unsafe-inline'; img-src data:; "
        "base-uri 'none'; form-action 'none'"
    )


REPORT_POLICY = report_policy(VIEWER_SCRIPT_SOURCE)


@dataclass(frozen=True)
class Structure:
    """A predicted structure to show (ModelSpec.structure's kinds): a complex as receptor cartoon
    and ligand sticks, a designed protein complex as a cartoon per chain, a lone molecule as sticks."""

    title: str
    format: Literal["cif", "pdb", "sdf"]
    text: str
    kind: Literal["complex", "protein_complex", "molecule"] = "complex"


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


def json_script(value: Any) -> str:
    """JSON for a <script type="application/json"> element: `<`, `>` and `&` escaped as JSON
    escapes, so no text (a ligand name, a structure file) can close the element, and the browser
    reads back exactly the value."""
    text = json.dumps(value, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render(
    header: dict[str, Any],
    stats: dict[str, dict[str, float]],
    top_hits: list[dict[str, Any]],
    values: Sequence[float],
    structures: Sequence[Structure],
    pose_checks: dict[str, Any] | None = None,
) -> str:
    """`top_hits` rows may carry `drawing` (a sanitised SVG, omtx.depiction), `pb_valid` and
    `pb_failed`; `pose_checks` is the summary's fraction of valid best poses."""
    metric = header.get("primary_metric") or ""
    e = html.escape
    checked = any("pb_valid" in h for h in top_hits)
    hit_rows = "".join(
        f"<tr><td>{h['index']}</td><td class=drawing>{h.get('drawing') or ''}</td>"
        f"<td>{e(str(h['ligand_name']))}</td><td>{_fmt(h.get(metric))}</td>"
        + (f"<td>{_pose_cell(h)}</td>" if checked else "")
        + f"<td><code>{e(str(h['canonical_smiles']))}</code></td></tr>"
        for h in top_hits
    )
    stat_rows = "".join(
        f"<tr><td>{e(k)}</td>"
        + "".join(f"<td>{_fmt(s[c])}</td>" for c in ("n", "mean", "min", "q1", "median", "q3", "max"))
        + "</tr>"
        for k, s in stats.items()
    )
    views, scripts = structure_views(structures)
    direction = "higher is better" if header.get("higher_is_better", True) else "lower is better"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{REPORT_POLICY}">
<title>{e(str(header.get("name") or header["batch_id"]))}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; }}
table {{ border-collapse: collapse; margin: 1rem 0; }} td, th {{ border: 1px solid #ddd; padding: 4px 8px; }}
th {{ background: #f3f3f3; }} figure {{ display: inline-block; margin: 0 1rem 1rem 0; vertical-align: top; }}
{VIEWER_STYLE}
td.drawing svg {{ width: 160px; height: 120px; display: block; }} code {{ font-size: 0.85em; }}
.fail {{ color: #b00020; }} .pass {{ color: #1b7f3b; }}
</style></head><body>
<h1>{e(str(header.get("name") or "Batch " + header["batch_id"]))}</h1>
<p>Batch <code>{e(header["batch_id"])}</code> · model <b>{e(header["model"])}</b> ({e(header["model_version"])}) ·
status <b>{e(header["status"])}</b> ·
{header["succeeded"]} succeeded, {header["failed"]} failed of {header["total"]}</p>
{_pose_summary(pose_checks)}
<h2>Top hits by {e(metric)} ({direction})</h2>
<table><tr><th>#</th><th>structure</th><th>ligand</th><th>{e(metric)}</th>{"<th>PoseBusters</th>" if checked else ""}
<th>canonical SMILES</th></tr>{hit_rows}</table>
<h2>Distribution of {e(metric)}</h2>{histogram_svg(values, metric)}
<h2>Best complexes</h2>{_views_intro(structures)}{views or "<p>No structures were produced.</p>"}
<h2>Summary statistics (succeeded jobs)</h2>
<table><tr><th>metric</th><th>n</th><th>mean</th><th>min</th><th>q1</th><th>median</th><th>q3</th><th>max</th></tr>
{stat_rows}</table>
<script type="application/json" id="header">{json_script(header)}</script>
{scripts}
</body></html>
"""


VIEWER_STYLE = (
    "figcaption { max-width: 380px; font-size: 0.9em; }\n"
    ".viewer { width: 380px; height: 320px; position: relative; border: 1px solid #ccc; }"
)


def structure_views(structures: Sequence[Structure]) -> tuple[str, str]:
    """A report's 3D views (a figure per structure, its data as JSON beside it) and the scripts
    that draw them: 3Dmol.js, half a megabyte, only when there is something to draw."""
    e = html.escape
    views = "".join(
        f'<figure><div class="viewer" data-structure="s{i}"></div><figcaption>{e(s.title)}</figcaption></figure>'
        f'<script type="application/json" id="s{i}">'
        f"{json_script({'text': s.text, 'format': s.format, 'kind': s.kind})}</script>"
        for i, s in enumerate(structures)
    )
    scripts = f"<script>{THREE_DMOL}</script>\n<script>{VIEWER}</script>" if structures else ""
    return views, scripts


def _views_intro(structures: Sequence[Structure]) -> str:
    if not structures:
        return ""
    if all(s.kind == "complex" for s in structures):
        return (
            "<p>Receptor as cartoon (residues within 5 Å of the ligand as lines), ligand as sticks. "
            "Drag to rotate, scroll to zoom.</p>"
        )
    return "<p>Drag to rotate, scroll to zoom.</p>"


def _pose_cell(hit: dict[str, Any]) -> str:
    if "pb_valid" not in hit or hit["pb_valid"] is None:
        return ""
    if hit["pb_valid"]:
        return '<span class="pass">valid</span>'
    failed = hit.get("pb_failed") or []
    names = ", ".join(str(name) for name in failed) if isinstance(failed, list) else str(failed)
    return f'<span class="fail">fails: {html.escape(names)}</span>'


def _pose_summary(pose_checks: dict[str, Any] | None) -> str:
    if not pose_checks or not pose_checks.get("best_poses_checked"):
        return ""
    return (
        f"<p>PoseBusters: {pose_checks['best_poses_valid']} of {pose_checks['best_poses_checked']} best poses "
        f"pass every check ({pose_checks['fraction_valid']:.0%}).</p>"
    )


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape("" if value is None else str(value))
