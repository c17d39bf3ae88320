"""Builds a campaign's report.html: the funnel (ligands per stage), the final hits, and 3D views
of the best hits' poses, inline like the batch report and under the same script policy."""

from __future__ import annotations

import html
from typing import Any

from omtx.report.html import REPORT_POLICY, VIEWER_STYLE, Structure, _fmt, json_script, structure_views


def render_campaign(
    header: dict[str, Any],
    funnel: list[dict[str, Any]],
    hits: list[dict[str, Any]],
    hit_columns: list[str],
    structures: list[tuple[str, str, str]],  # (title, format "sdf"|"cif", text)
) -> str:
    e = html.escape
    widest = max([1] + [int(s.get("in", 0)) for s in funnel])
    funnel_rows = "".join(
        f"<tr><td>{e(str(s['stage']))}</td><td>{s.get('in', 0)}</td><td>{_fmt(s.get('succeeded'))}</td>"
        f"<td>{_fmt(s.get('failed'))}</td>"
        f'<td><div style="background:#4c78a8;height:12px;width:{_bar(s, widest)}px"></div></td></tr>'
        for s in funnel
    )
    head = "".join(f"<th>{e(c)}</th>" for c in hit_columns)
    hit_rows = "".join("<tr>" + "".join(f"<td>{_fmt(h.get(c))}</td>" for c in hit_columns) + "</tr>" for h in hits)
    views, scripts = structure_views(
        [
            Structure(title, "sdf" if fmt == "sdf" else "cif", text, "molecule" if fmt == "sdf" else "complex")
            for title, fmt, text in structures
        ]
    )
    title = str(header.get("name") or "Campaign " + header["campaign_id"])
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{REPORT_POLICY}">
<title>{e(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; }}
table {{ border-collapse: collapse; margin: 1rem 0; }} td, th {{ border: 1px solid #ddd; padding: 4px 8px; }}
th {{ background: #f3f3f3; }} figure {{ display: inline-block; margin: 0 1rem 1rem 0; }}
{VIEWER_STYLE}
</style></head><body>
<h1>{e(title)}</h1>
<p>Campaign <code>{e(header["campaign_id"])}</code> · status <b>{e(header["status"])}</b> · {e(header["reason"])}</p>
<h2>Funnel</h2>
<table><tr><th>stage</th><th>ligands in</th><th>succeeded</th><th>failed</th><th></th></tr>{funnel_rows}</table>
<h2>Final hits</h2>
<table><tr>{head}</tr>{hit_rows}</table>
<h2>Best poses</h2><p>Drag to rotate, scroll to zoom.</p>{views or "<p>The last stage produced no structures.</p>"}
<script type="application/json" id="header">{json_script(header)}</script>
{scripts}
</body></html>
"""


def _bar(stage: dict[str, Any], widest: int) -> str:
    return f"{400 * int(stage.get('in', 0)) / widest:.0f}"
