"""report.html in Chromium: its Content-Security-Policy lets 3Dmol.js and the viewer that starts
it run and nothing else, so a ligand named like markup or script can never execute, also when the
file is opened from a disk or a bucket rather than through the API; and the viewers really draw
(WebGL pixels: the receptor's cartoon and the ligand's green-carbon sticks)."""

import io
import re
from importlib import resources

import pytest
from PIL import Image

from omtx.depiction import ligand_svg
from omtx.docking.outputs import complex_mmcif
from omtx.report.html import REPORT_POLICY, Structure, render

HOSTILE = [
    "<script>window.pwned = 1</script>",
    '"><img src=x onerror="window.pwned=2">',
    "</script><script>window.pwned=3</script>",
    "javascript:window.pwned=4",
]
DATA = resources.files("omtx.data")
RECEPTOR = DATA.joinpath("1s2g_receptor.pdb").read_text()
CRYSTAL_SDF = DATA.joinpath("1s2g_ligand.sdf").read_text()
HEADER = {
    "batch_id": "b0123456789abcdef",
    "model": "vina",
    "model_version": "v",
    "status": "completed",
    "succeeded": 4,
    "failed": 0,
    "total": 4,
    "primary_metric": "vina_score",
    "higher_is_better": False,
}


def crystal_complex() -> str:
    from rdkit import Chem

    return complex_mmcif(RECEPTOR, Chem.MolFromMolBlock(CRYSTAL_SDF), "dAdo")


def report(tmp_path):
    hits = [
        {"index": i, "ligand_name": name, "vina_score": -7.0 - i, "canonical_smiles": name}
        for i, name in enumerate(HOSTILE)
    ]
    structures = [
        Structure(HOSTILE[1], "cif", crystal_complex()),
        Structure(HOSTILE[2], "sdf", CRYSTAL_SDF, "molecule"),
    ]
    page = render(HEADER | {"name": HOSTILE[0]}, {}, hits, [-7.0, -8.0, -9.0, -10.0], structures)
    path = tmp_path / "report.html"
    path.write_text(page, encoding="utf-8")
    return path, page


def open_page(browser, path):
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.goto(path.as_uri())
    page.wait_for_function(
        "document.querySelectorAll('[data-atoms]').length === document.querySelectorAll('.viewer').length"
    )
    page.wait_for_timeout(300)
    return page, problems


def pixels(page, selector: str) -> tuple[int, int]:
    """(drawn, ligand green) pixels of an element's screenshot."""
    image = Image.open(io.BytesIO(page.locator(selector).screenshot())).convert("RGB")
    colours = list(image.get_flattened_data())
    drawn = sum(1 for r, g, b in colours if min(r, g, b) < 235)
    green = sum(1 for r, g, b in colours if g > 150 and r < 120 and b < 120)
    return drawn, green


def test_only_3dmol_and_the_viewer_run_and_they_draw(browser, tmp_path):
    path, html = report(tmp_path)
    assert f'content="{REPORT_POLICY}"' in html
    assert len(re.findall(r"<script>", html)) == 2  # the executable scripts: 3Dmol.js and the viewer
    page, problems = open_page(browser, path)
    assert page.evaluate("window.pwned") is None
    assert problems == []  # no CSP violation, no script error: both allowed by their hashes
    assert HOSTILE[0] in page.title()  # shown as text, never run
    atoms = page.evaluate("[...document.querySelectorAll('.viewer')].map(v => +v.dataset.atoms)")
    assert atoms[0] > 2000 and atoms[1] == 18  # receptor + ligand; the ligand alone
    drawn, green = pixels(page, ".viewer >> nth=0")
    assert drawn > 20_000 and green > 300, "the complex view shows no cartoon or no ligand sticks"
    drawn, green = pixels(page, ".viewer >> nth=1")
    assert green > 300
    page.close()


def test_a_script_injected_past_the_escaping_would_be_blocked(browser, tmp_path):
    """The policy is the second line of defence: were escaping ever to fail, an inline script
    would still not run."""
    path, html = report(tmp_path)
    path.write_text(html.replace("</body>", "<script>window.pwned = 5</script></body>"), encoding="utf-8")
    page = browser.new_page()
    page.goto(path.as_uri())
    page.wait_for_timeout(500)
    assert page.evaluate("window.pwned") is None
    page.close()


@pytest.fixture(scope="module")
def vina_outputs():
    """Three real docking predictions: the demo's receptor and box, its first three ligands."""
    from omtx.cli.demo_data import NUCLEOSIDES, chain_sequence
    from omtx.domain import ProteinIn
    from omtx.predictors.base import LigandTask
    from omtx.predictors.vina import VinaDocking, VinaParams

    docking = VinaDocking()
    params = VinaParams(reference_sdf=CRYSTAL_SDF, exhaustiveness=2, n_poses=3)
    protein = ProteinIn(id="1S2G_A", sequence=chain_sequence(RECEPTOR), structure=RECEPTOR)
    try:
        yield [
            (
                i,
                name,
                smiles,
                docking.predict(
                    protein, LigandTask(job_id=f"j{i}", index=i, name=name, canonical_smiles=smiles), params
                ),
            )
            for i, (name, smiles) in enumerate(NUCLEOSIDES[:3])
        ]
    finally:
        if docking._engine is not None:
            docking._engine.close()


def test_a_report_of_real_docking_outputs_shows_three_complexes_in_3d(browser, tmp_path, vina_outputs):
    """What aggregation hands the renderer for a vina batch (omtx/usecases/report.py): its hits
    with drawings and pose checks, and each complex.cif."""
    ranked = sorted(vina_outputs, key=lambda item: item[3].metrics["vina_score"])
    hits = [
        {"index": i, "ligand_name": name, "canonical_smiles": smiles, "drawing": ligand_svg(smiles)}
        | {k: p.metrics[k] for k in ("vina_score", "pb_valid", "pb_failed")}
        for i, name, smiles, p in ranked
    ]
    structures = [Structure(f"#{i} {name}", "cif", p.files["complex.cif"][0].decode()) for i, name, _, p in ranked]
    checks = {"best_poses_checked": 3, "best_poses_valid": sum(h["pb_valid"] for h in hits)}
    checks["fraction_valid"] = checks["best_poses_valid"] / 3
    page_html = render(
        HEADER | {"succeeded": 3, "total": 3}, {}, hits, [h["vina_score"] for h in hits], structures, checks
    )
    path = tmp_path / "report.html"
    path.write_text(page_html, encoding="utf-8")
    page, problems = open_page(browser, path)
    assert problems == []
    assert page.locator(".viewer").count() == 3
    for n in range(3):
        drawn, green = pixels(page, f".viewer >> nth={n}")
        assert drawn > 20_000 and green > 300, f"complex {n} is not drawn with its ligand"
    assert page.locator("td.drawing svg").count() == 3  # a 2D drawing per hit
    cells = page.locator("td .pass, td .fail").all_inner_texts()
    assert len(cells) == 3 and all(c == "valid" or c.startswith("fails: ") for c in cells)
    assert "best poses pass every check" in page.inner_text("body")
    page.close()


def test_the_api_s_header_policy_lets_the_report_run_too(browser, tmp_path):
    """Served by the API, the report runs under the header policy as well as its own meta tag:
    both must allow the two scripts."""
    from omtx.api.routes import CONTENT_SECURITY_POLICY

    _, html = report(tmp_path)
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.route(
        "http://omtx.test/report.html",
        lambda route: route.fulfill(
            status=200,
            body=html,
            headers={"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": CONTENT_SECURITY_POLICY},
        ),
    )
    page.goto("http://omtx.test/report.html")
    page.wait_for_function("document.querySelectorAll('[data-atoms]').length === 2")
    assert problems == [] and page.evaluate("window.pwned") is None
    page.close()
