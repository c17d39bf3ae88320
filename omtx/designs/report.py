"""report.html of a design campaign: the designs table sorted by interaction pAE with every
filter's flag, and 3D views of the best designs' complexes (3Dmol.js, vendored in omtx/web and
inlined: the report opens from a bucket or a disk with no network), antibody chains and the
epitope highlighted. Its scripts run by hash only (Content-Security-Policy)."""

from __future__ import annotations

import html
import json
from typing import Any

from omtx.designs.table import FILTER_NAMES
from omtx.report.html import THREE_DMOL, report_policy, script_source

VIEWS = 3
TABLE_ROWS = 200  # the whole table is in designs.csv
# Each view's data is JSON in a <script type="application/json">: data, never code.
INIT = """(function () {
  document.querySelectorAll("div[data-design]").forEach(function (el) {
    var d = JSON.parse(document.getElementById(el.dataset.design).textContent);
    var v = $3Dmol.createViewer(el, {backgroundColor: "white"});
    v.addModel(d.pdb, "pdb");
    v.setStyle({}, {cartoon: {color: "lightgrey"}});
    v.setStyle({chain: "H"}, {cartoon: {color: "#1f77b4"}});
    v.setStyle({chain: "L"}, {cartoon: {color: "#2ca02c"}});
    var red = "#d62728";
    v.addStyle({chain: d.target_chain, resi: d.epitope}, {stick: {color: red}, sphere: {color: red, radius: 0.8}});
    v.zoomTo();
    v.render();
  });
})();"""


SCRIPT_SOURCES = f"{script_source(THREE_DMOL)} {script_source(INIT)}"
REPORT_POLICY = report_policy(SCRIPT_SOURCES)


def epitope(pdb: str, positions: list[int]) -> tuple[str, list[int]]:
    """The target chain of a design complex (the chain after H and L; T in RFantibody's HLT
    output, renumbered) and the residue numbers at the hotspots' positions along it."""
    residues: list[tuple[str, int]] = []
    for line in pdb.splitlines():
        if line.startswith("ATOM") and line[12:16].strip() == "CA" and line[21:22] not in ("H", "L"):
            key = (line[21:22], int(line[22:26]))
            if not residues or residues[-1] != key:
                residues.append(key)
    chain = residues[0][0] if residues else "T"
    return chain, [residues[p][1] for p in positions if 0 <= p < len(residues)]


def _cell(value: Any) -> str:
    if value is True:
        return '<td class="ok">✓</td>'
    if value is False:
        return '<td class="no">✗</td>'
    if isinstance(value, float):
        return f"<td>{value:.2f}</td>"
    return f"<td>{html.escape('' if value is None else str(value))}</td>"


def render(
    header: dict[str, Any], rows: list[dict[str, Any]], views: list[tuple[dict[str, Any], str]], positions: list[int]
) -> str:
    """`rows` sorted as shown; `views`: (row, complex PDB text) of the designs to draw."""
    e = html.escape
    columns = [
        ("tag", "design"),
        ("run", "run"),
        ("interaction_pae", "interaction pAE"),
        ("pae", "pAE"),
        ("pred_lddt", "pLDDT"),
        ("target_aligned_antibody_rmsd", "RMSD Ab (target-aligned)"),
        ("target_aligned_cdr_rmsd", "RMSD CDR (target-aligned)"),
        ("rosetta_ddg", "ddG"),
        *((f"filter_{n}", n) for n in FILTER_NAMES),
        ("filter_rosetta_ddg", "rosetta_ddg (not evaluated)"),
        ("passes_filters", "pass"),
        ("cdr_H3", "CDR H3"),
    ]
    head = "".join(f"<th>{e(label)}</th>" for _, label in columns)
    body = "".join("<tr>" + "".join(_cell(row.get(key)) for key, _ in columns) + "</tr>" for row in rows[:TABLE_ROWS])
    figures = []
    for i, (row, pdb) in enumerate(views[:VIEWS]):
        chain, resi = epitope(pdb, positions)
        data = json.dumps({"pdb": pdb, "target_chain": chain, "epitope": resi}).replace("</", "<\\/")
        figures.append(
            f'<figure><div class="view" data-design="d{i}"></div><figcaption>{e(row["tag"])}: interaction pAE '
            f"{e(str(row.get('interaction_pae')))}, {'passes' if row['passes_filters'] else 'fails'} the filters"
            f'</figcaption></figure><script type="application/json" id="d{i}">{data}</script>'
        )
    stand_in = any(r.get("stand_in") for r in rows)
    banner = (
        '<p class="standin"><b>CPU stand-in:</b> these designs and scores were made up by the test stand-in of '
        "RFantibody's tools, not by RFantibody.</p>"
        if stand_in
        else ""
    )
    passing = sum(1 for r in rows if r["passes_filters"])
    title = e(str(header.get("name") or "Design campaign " + header["batch_id"]))
    summary = (
        f"Batch <code>{e(header['batch_id'])}</code> · {e(header['model'])} ({e(header['model_version'])}) · "
        f"status <b>{e(header['status'])}</b> · target chain {e(str(header.get('target_chain')))}, hotspots "
        f"{e(', '.join(header.get('hotspots', [])))} · {len(rows)} designs, {passing} pass the filters · jobs: "
        f"{header['succeeded']} succeeded, {header['failed']} failed of {header['total']}"
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{REPORT_POLICY}">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; }}
table {{ border-collapse: collapse; margin: 1rem 0; font-size: 0.9em; }}
td, th {{ border: 1px solid #ddd; padding: 3px 6px; }}
th {{ background: #f3f3f3; }} td.ok {{ color: #1a7f37; }} td.no {{ color: #b42318; }}
figure {{ display: inline-block; margin: 0 1rem 1rem 0; }}
.view {{ width: 420px; height: 360px; position: relative; border: 1px solid #ccc; }}
.standin {{ background: #fff3cd; padding: 0.5rem; border: 1px solid #e0c36b; }}
</style></head><body>
<h1>{title}</h1>{banner}
<p>{summary}</p>
<h2>Best designs</h2><p>Heavy chain blue, light chain green, target grey, epitope (hotspots) red.</p>
{"".join(figures) or "<p>No design structures were produced.</p>"}
<h2>Designs by interaction pAE (lower is better)</h2>
<table><tr>{head}</tr>{body}</table>
<script>{THREE_DMOL}</script>
<script>{INIT}</script>
</body></html>
"""
