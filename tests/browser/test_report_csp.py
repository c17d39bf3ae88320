"""report.html in Chromium: its Content-Security-Policy lets the built-in viewer run and nothing
else, so a ligand named like markup or script can never execute, also when the file is opened
from a disk or a bucket rather than through the API."""

import re
from importlib import resources

from omtx.report.html import REPORT_POLICY, render

HOSTILE = [
    "<script>window.pwned = 1</script>",
    '"><img src=x onerror="window.pwned=2">',
    "</script><script>window.pwned=3</script>",
    "javascript:window.pwned=4",
]


def report(tmp_path):
    sdf = resources.files("omtx.data").joinpath("1s2g_ligand.sdf").read_text()
    header = {
        "batch_id": "b0123456789abcdef",
        "name": HOSTILE[0],
        "model": "vina",
        "model_version": "v",
        "status": "completed",
        "succeeded": 4,
        "failed": 0,
        "total": 4,
        "primary_metric": "vina_score",
        "higher_is_better": False,
    }
    hits = [
        {"index": i, "ligand_name": name, "vina_score": -7.0 - i, "canonical_smiles": name}
        for i, name in enumerate(HOSTILE)
    ]
    page = render(header, {}, hits, [-7.0, -8.0, -9.0, -10.0], [(HOSTILE[1], "sdf", sdf)])
    path = tmp_path / "report.html"
    path.write_text(page, encoding="utf-8")
    return path, page


def test_only_the_viewer_runs_and_it_draws(browser, tmp_path):
    path, html = report(tmp_path)
    assert f'content="{REPORT_POLICY}"' in html
    assert len(re.findall(r"<script>", html)) == 1  # one executable script: the viewer
    page = browser.new_page()
    violations = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.goto(path.as_uri())
    page.wait_for_timeout(300)
    assert page.evaluate("window.pwned") is None
    assert violations == []  # the viewer itself is allowed by its hash
    painted = page.evaluate(
        """() => { const c = document.querySelector('canvas');
                   const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                   let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }"""
    )
    assert painted > 500, "the viewer drew nothing"
    assert HOSTILE[0] in page.title()  # shown as text, never run
    page.close()


def test_a_script_injected_past_the_escaping_would_be_blocked(browser, tmp_path):
    """The policy is the second line of defence: were escaping ever to fail, an inline script
    would still not run."""
    path, html = report(tmp_path)
    path.write_text(html.replace("</body>", "<script>window.pwned = 5</script></body>"), encoding="utf-8")
    page = browser.new_page()
    page.goto(path.as_uri())
    page.wait_for_timeout(200)
    assert page.evaluate("window.pwned") is None
    page.close()
