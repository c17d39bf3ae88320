"""A design campaign's report.html in Chromium: 3Dmol.js (inlined, allowed by its hash) draws the
best designs' complexes, and nothing else runs, whatever a campaign or design is named."""

from pathlib import Path

from omtx.designs import report, table
from omtx.domain import DesignRun, ProteinIn
from omtx.predictors.base import LigandTask
from omtx.predictors.rfantibody import RFAntibody, RfantibodyParams
from omtx.predictors.rfantibody.commands import Install
from omtx.predictors.rfantibody.standin import standin_runner

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "rfantibody" / "inputs"
HOSTILE = '<script>window.pwned = 1</script>"><img src=x onerror="window.pwned=2">'


def design_report(tmp_path: Path) -> Path:
    params = RfantibodyParams(
        hotspots="T305,T456", framework_pdb=(FIX / "framework_nanobody.pdb").read_text(), seqs_per_struct=1
    )
    task = LigandTask(job_id="j", index=0, name="run-0000", design=DesignRun(tag="run-0000", first_design=0,
                      num_designs=2, seed=1))  # fmt: skip
    target = (FIX / "target.pdb").read_text()
    prediction = RFAntibody(runner=standin_runner, install=Install(), stand_in=True).predict(
        ProteinIn(sequence="KLDVYAFGWLE", structure=target), task, params
    )
    files = {name: name for name in prediction.files}
    rows = table.select(table.job_rows("j", HOSTILE, {"raw": prediction.raw, "files": files}, "{name}"))
    views = [(row, prediction.files[f"{row['tag']}.pdb"][0].decode()) for row in rows if f"{row['tag']}.pdb" in files]
    header = {"batch_id": "b0123456789abcdef", "name": HOSTILE, "model": "rfantibody", "model_version": "v",
              "status": "completed", "succeeded": 1, "failed": 0, "total": 1, "target_chain": "A",
              "hotspots": ["T305", "T456"]}  # fmt: skip
    path = tmp_path / "report.html"
    path.write_text(report.render(header, rows, views, positions=[2, 8]), encoding="utf-8")
    return path


def test_3dmol_draws_the_designs_and_nothing_else_runs(browser, tmp_path):
    path = design_report(tmp_path)
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.goto(path.as_uri())
    page.wait_for_timeout(1500)
    assert problems == []
    assert page.evaluate("window.pwned") is None and HOSTILE in page.title()
    assert page.evaluate("typeof window.$3Dmol") == "object"
    views = page.locator("div[data-design]")
    assert views.count() >= 1
    assert page.locator("div[data-design] canvas").count() == views.count()  # a WebGL canvas per design
    drawn = views.first.screenshot()
    page.evaluate("document.querySelector('div[data-design] canvas').style.visibility = 'hidden'")
    blank = views.first.screenshot()
    assert len(drawn) > 2 * len(blank), "3Dmol drew nothing"
    page.close()
