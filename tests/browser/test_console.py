"""The web console in Chromium against the session's local stack: every page it shows is checked
against what the public API answers for the same question. Any Content-Security-Policy
violation or uncaught script error on a page fails the test that opened it."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from PIL import Image
from playwright.sync_api import Page, expect

from omtx.cli.demo_data import docking_request
from tests.integration.conftest import wait_for
from tests.integration.helpers import CDK2_FRAGMENT

pytestmark = pytest.mark.integration
FINAL = {"completed", "completed_with_failures", "failed", "cancelled"}
HOSTILE_NAME = "<script>window.pwned=1</script>"
FORMULA_NAME = '=HYPERLINK("http://x")'


class Console:
    def __init__(self, browser, base: str) -> None:
        self.base = base
        self.problems: list[str] = []
        self.page: Page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))

    def _console(self, message: Any) -> None:
        # API refusals (a 422 the form shows) are logged by Chromium too; those are not problems.
        if "Content Security Policy" in message.text:
            self.problems.append(message.text)

    def open(self, path: str) -> Page:
        self.page.goto(self.base + path)
        return self.page

    def api(self, path: str, **params: Any) -> Any:
        response = requests.get(self.base + path, params=params, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def console(browser, settings) -> Iterator[Console]:
    opened = Console(browser, settings.api_base_url)
    yield opened
    pwned = opened.page.evaluate("window.pwned")
    opened.page.close()
    assert pwned is None
    assert opened.problems == []


def finished(base: str, batch_id: str, timeout_s: float = 120) -> dict[str, Any]:
    def final() -> dict[str, Any] | None:
        body = requests.get(f"{base}/v1/batches/{batch_id}", timeout=10).json()
        return body if body["status"] in FINAL else None

    return wait_for(final, timeout_s=timeout_s, interval_s=0.5)


def instant_batch(base: str, n: int, name: str) -> str:
    ligands = [{"name": f"lig-{i}", "smiles": "C" * (1 + i % 17) + "O"} for i in range(n)]
    ligands[3]["name"] = FORMULA_NAME
    body = {"name": name, "model": "instant", "params": {"fail_every": 25}, "protein": {"sequence": CDK2_FRAGMENT}}
    response = requests.post(f"{base}/v1/batches", json=body | {"ligands": ligands}, timeout=60)
    assert response.status_code == 202, response.text
    return response.json()["batch_id"]


@pytest.fixture(scope="module")
def scored(stack) -> str:
    """A finished instant batch of 240 jobs, some failed (fail_every=25), for the table tests."""
    base = stack.settings.api_base_url
    batch_id = instant_batch(base, 240, "table tests")
    finished(base, batch_id)
    return batch_id


def all_rows(console: Console, batch_id: str, **params: Any) -> list[dict[str, Any]]:
    rows, cursor = [], None
    while True:
        page = console.api(f"/v1/batches/{batch_id}/results", limit=1000, cursor=cursor, **params)
        rows += page["jobs"]
        cursor = page["next_cursor"]
        if cursor is None:
            return rows


def first_page(console: Console, batch_id: str, **params: Any) -> list[dict[str, Any]]:
    return console.api(f"/v1/batches/{batch_id}/results", limit=50, **params)["jobs"]


def shown_jobs(page: Page) -> list[str]:
    expect(page.locator("#results-table tbody")).to_have_attribute("data-state", "ready")
    return page.locator("#results-table tbody tr[data-job]").evaluate_all("rows => rows.map(r => r.dataset.job)")


def test_1_the_form_shows_the_apis_row_error_beside_the_row_then_submits(console):
    models = [m for m in console.api("/v1/models")["models"] if not m["designs"]]
    page = console.open("/ui/new")
    expect(page).to_have_title(re.compile("^New batch"))
    # the parameter form is generated from each model's schema: a field per property, defaults in
    for model in models:
        page.select_option("#model", model["name"])
        for name, prop in model["params_schema"]["properties"].items():
            expect(page.locator(f'[data-param="{name}"]')).to_have_count(1)
            if prop.get("type") == "integer" and "default" in prop:
                assert page.locator(f"#p-{name}").input_value() == str(prop["default"])
                if "maximum" in prop:
                    assert page.locator(f"#p-{name}").get_attribute("max") == str(prop["maximum"])
    page.select_option("#model", "rdkit_props")
    page.fill("#sequence", ">CDK2 fragment\n" + CDK2_FRAGMENT)
    page.fill("#name", "form batch")
    bad = "CC(=O)Oc1ccccc1C(=O)O aspirin\nC1CC(((N not-a-molecule\nCn1cnc2c1c(=O)n(C)c(=O)n2C caffeine"
    page.fill("#ligands", bad)
    page.click("#submit")
    reason = page.locator('#ligand-rows tr[data-row="1"] td.reason')
    expect(reason).not_to_be_empty()
    # the very message the API gives for that row, and no other row marked
    answer = requests.post(
        f"{console.base}/v1/batches",
        params={"dry_run": "true"},
        json={
            "model": "rdkit_props",
            "protein": {"sequence": CDK2_FRAGMENT},
            "ligands": [
                {"name": "aspirin", "smiles": "CC(=O)Oc1ccccc1C(=O)O"},
                {"name": "not-a-molecule", "smiles": "C1CC(((N"},
                {"name": "caffeine", "smiles": "Cn1cnc2c1c(=O)n(C)c(=O)n2C"},
            ],
        },
        timeout=30,
    )
    assert answer.status_code == 422
    messages = [d["msg"] for d in answer.json()["detail"] if d["loc"][:2] == ["ligands", 1]]
    assert messages and all(m in reason.inner_text() for m in messages)
    assert page.locator("#ligand-rows tr.invalid").count() == 1
    assert page.url.endswith("/ui/new")  # nothing was created

    page.fill("#ligands", bad.replace("C1CC(((N not-a-molecule", "CC(C)Cc1ccc(cc1)C(C)C(=O)O ibuprofen"))
    page.click("#check")
    expect(page.locator("#estimate")).to_contain_text("jobs")
    expect(page.locator("#ligand-rows tr.invalid")).to_have_count(0)
    page.click("#submit")
    page.wait_for_url(re.compile(r"/ui/batches/b[0-9a-f]{16}$"))
    batch = console.api(f"/v1/batches/{page.url.rsplit('/', 1)[1]}")
    assert (batch["name"], batch["model"], batch["total"]) == ("form batch", "rdkit_props", 3)
    assert batch["protein"]["sequence"] == CDK2_FRAGMENT


def test_2_the_batch_page_follows_the_batch_to_completed_without_a_reload(console):
    batch_id = instant_batch(console.base, 300, HOSTILE_NAME)
    page = console.open(f"/ui/batches/{batch_id}")
    expect(page.locator("h1")).to_have_text(HOSTILE_NAME)  # shown as text, never run
    page.evaluate("window.sameDocument = true")
    status = page.locator("#batch-status .badge")
    first = status.inner_text()
    expect(status).to_have_text("completed with failures", timeout=120_000)
    assert first != "completed with failures", "the batch finished before the page could watch it"
    assert page.evaluate("window.sameDocument") is True
    batch = console.api(f"/v1/batches/{batch_id}")
    expect(page.locator("#progress-text")).to_contain_text(f"{batch['done']} / {batch['total']} done")
    expect(page.locator("#downloads a", has_text="CSV")).to_have_attribute("href", batch["links"]["batch_results.csv"])
    # the results table loaded again once the batch finished: a full first page
    expect(page.locator("#results-table tbody tr[data-job]")).to_have_count(50)


def test_3_sorting_and_filtering_the_table_match_the_api(console, scored):
    page = console.open(f"/ui/batches/{scored}")
    assert shown_jobs(page) == [j["job_id"] for j in first_page(console, scored)]

    header = page.locator('th[data-metric="score"] button')
    header.click()  # ascending
    expect(page.locator('th[data-metric="score"]')).to_have_attribute("aria-sort", "ascending")
    shown = shown_jobs(page)
    assert shown == [j["job_id"] for j in first_page(console, scored, order_by="score")]
    header.click()  # descending
    expect(page.locator('th[data-metric="score"]')).to_have_attribute("aria-sort", "descending")
    expected = first_page(console, scored, order_by="-score")
    assert shown_jobs(page) == [j["job_id"] for j in expected]
    scores = page.locator('#results-table tbody td[data-col="score"]').all_inner_texts()
    assert scores == [f"{j['metrics']['score']:.4f}" for j in expected]  # same decimals down the column

    page.click("summary:has-text('Range filters')")
    page.fill("#r-min-score", "0.25")
    page.fill("#r-max-score", "0.6")
    page.locator("#r-max-score").dispatch_event("change")
    expected = all_rows(console, scored, order_by="-score", min_score=0.25, max_score=0.6)
    expect(page.locator("#results-note")).to_contain_text(f"rows 1–{min(50, len(expected))}")
    assert shown_jobs(page) == [j["job_id"] for j in expected[:50]]

    page.click("button:has-text('Reset')")
    page.select_option("#r-status", "failed")
    failed = all_rows(console, scored, status="failed")
    expect(page.locator("#results-table tbody tr[data-job]")).to_have_count(len(failed))
    assert shown_jobs(page) == [j["job_id"] for j in failed]
    reasons = page.locator("#results-table tbody td.reason").all_inner_texts()
    assert reasons == [j["error"] for j in failed] and all(reasons)

    # keyboard: the first row takes focus, arrows move it, Enter opens the job
    page.locator("#results-table tbody tr[data-job]").first.focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/ui/batches/{scored}/jobs/{failed[1]['job_id']}$"))


def test_4_a_docked_jobs_3d_view_draws_the_complex(console, tmp_path):
    request = docking_request(1)
    request["params"] |= {"exhaustiveness": 1, "n_poses": 3}
    response = requests.post(f"{console.base}/v1/batches", json=request, timeout=60)
    assert response.status_code == 202, response.text
    batch_id = response.json()["batch_id"]
    assert finished(console.base, batch_id, timeout_s=240)["status"] == "completed"
    (job,) = console.api(f"/v1/batches/{batch_id}/results")["jobs"]
    page = console.open(f"/ui/batches/{batch_id}/jobs/{job['job_id']}")
    viewer = page.locator("#viewer")
    expect(viewer).to_have_attribute("data-rendered", "true", timeout=30_000)
    page.wait_for_timeout(500)
    shot = tmp_path / "viewer.png"
    viewer.screenshot(path=str(shot))
    image = Image.open(shot).convert("L")  # not blank: a share of the pixels is clearly not white
    drawn = image.point(lambda v: 255 if v < 235 else 0).histogram()[255]
    total = image.width * image.height
    assert drawn > 0.05 * total, f"the viewer drew {drawn} of {total} pixels"
    expect(page.locator("#viewer-caption")).to_contain_text("pocket residues within 5 Å")
    if job["metrics"]["n_poses"] > 1:
        expect(page.locator("#v-pose option")).to_have_count(job["metrics"]["n_poses"])
    unit = page.locator("#metrics th", has_text="vina_score")
    expect(unit).to_contain_text("kcal/mol")
    links = page.locator("#files a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert sorted(links) == sorted(v for k, v in job["links"].items() if k != "self")
    # PoseBusters' verdict on the docked pose, as the job's metrics give it
    verdict = page.locator("#posebusters")
    if job["metrics"]["pb_valid"]:
        expect(verdict).to_contain_text("All checks passed")
    else:
        expect(verdict).to_contain_text("Failed checks: " + ", ".join(job["metrics"]["pb_failed"]))

    # The results table draws the job's 2D depiction, loaded lazily, and the browser may keep it.
    svg = job["links"]["ligand.svg"]
    assert "private, max-age" in requests.get(console.base + svg, timeout=30).headers["Cache-Control"]
    page = console.open(f"/ui/batches/{batch_id}")
    drawing = page.locator(f'#results-table tr[data-job="{job["job_id"]}"] td[data-col="depiction"] img')
    expect(drawing).to_have_attribute("src", svg)
    expect(drawing).to_have_attribute("loading", "lazy")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=drawing.element_handle())


def test_5_download_this_view_exports_exactly_the_filtered_sorted_rows(console, scored):
    page = console.open(f"/ui/batches/{scored}")
    shown_jobs(page)
    page.click("summary:has-text('Range filters')")
    page.fill("#r-min-score", "0.3")
    page.locator("#r-min-score").dispatch_event("change")
    page.locator('th[data-metric="score"] button').click()
    shown_jobs(page)
    with page.expect_download() as download:
        page.click("#r-download")
    text = open(download.value.path(), encoding="utf-8-sig").read()
    rows = list(csv.DictReader(io.StringIO(text)))
    expected = all_rows(console, scored, order_by="score", min_score=0.3)
    assert len(rows) == len(expected) > 50  # more than one page: the export walks every page
    assert [r["job_id"] for r in rows] == [j["job_id"] for j in expected]
    assert [float(r["score"]) for r in rows] == [j["metrics"]["score"] for j in expected]

    page.click("button:has-text('Reset')")
    shown_jobs(page)
    with page.expect_download() as download:
        page.click("#r-download")
    rows = list(csv.DictReader(open(download.value.path(), encoding="utf-8-sig")))
    assert len(rows) == 240
    # a formula-like name is neutralised, as in the API's own CSV (omtx/spreadsheet.py)
    assert rows[3]["ligand_name"] == "'" + FORMULA_NAME and rows[4]["ligand_name"] == "lig-4"


def test_actions_ask_first_then_cancel_and_delete(console):
    batch_id = instant_batch(console.base, 3000, "to cancel")
    page = console.open(f"/ui/batches/{batch_id}")
    questions: list[str] = []

    def answer(dialog) -> None:
        questions.append(dialog.message)
        dialog.accept() if len(questions) > 1 else dialog.dismiss()

    page.on("dialog", answer)
    page.click("button:has-text('Cancel batch')")  # dismissed: nothing happens
    assert console.api(f"/v1/batches/{batch_id}")["status"] not in FINAL
    page.click("button:has-text('Cancel batch')")
    expect(page.locator("#batch-status .badge")).to_have_text("cancelled", timeout=60_000)
    assert console.api(f"/v1/batches/{batch_id}")["status"] == "cancelled"
    page.click("button:has-text('Delete batch')")
    page.wait_for_url(re.compile(r"/ui/$"))
    assert requests.get(f"{console.base}/v1/batches/{batch_id}", timeout=10).status_code == 404
    assert "Cancel batch to cancel?" in questions[0] and "cannot be undone" in questions[2]


def test_with_keys_required_the_console_signs_in_once_and_shows_only_the_tenants_batches(browser, settings):
    """The submit app in this process with auth=api_key, on its own port, in a real browser: the
    cookie round trip, the tenant boundary and sign-out."""
    import os
    import threading
    import uuid

    from functions_framework import create_app
    from werkzeug.serving import make_server

    from omtx.settings import get_settings
    from tests.integration.test_auth import SOURCE, create_key

    os.environ["OMTX_AUTH"] = "api_key"
    get_settings.cache_clear()
    server = make_server("127.0.0.1", 0, create_app("submit", str(SOURCE), "http"), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        suffix = uuid.uuid4().hex[:8]
        key, other = create_key(f"acme-{suffix}", "pro"), create_key(f"globex-{suffix}", "pro")
        body = {"name": "acme only", "protein": {"sequence": CDK2_FRAGMENT}, "ligands": [{"smiles": "CCO"}]}
        mine = requests.post(f"{base}/v1/batches", json=body, headers={"X-API-Key": key}, timeout=30).json()
        requests.post(f"{base}/v1/batches", json=body | {"name": "globex"}, headers={"X-API-Key": other}, timeout=30)
        page = browser.new_page()
        page.goto(f"{base}/ui/")
        expect(page).to_have_title(re.compile("^Sign in"))
        page.fill("#api-key", "omtx_000000000000_" + "x" * 43)
        page.click("button:has-text('Sign in')")
        expect(page.locator("[role=alert]")).to_contain_text("not valid")
        page.fill("#api-key", key)
        page.click("button:has-text('Sign in')")
        expect(page.locator("#batches tbody tr")).to_have_count(1)
        expect(page.locator("#batches tbody")).to_contain_text(mine["batch_id"])
        assert page.evaluate("document.cookie") == ""  # HttpOnly: the page never holds the key
        page.goto(f"{base}/ui/new")  # the session carries over to the next page
        expect(page).to_have_title(re.compile("^New batch"))
        page.click("button:has-text('Sign out')")
        expect(page).to_have_title(re.compile("^Sign in"))
        page.close()
    finally:
        server.shutdown()
