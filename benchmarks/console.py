"""The console on a finished 100,000-job batch, driven in Chromium: p50/p95 of the results page's
first screen and of its sort and filter interactions (targets: ≤ 1 s and ≤ 300 ms).

Starts its own stack (or uses --api of a running one, with --batch to reuse a seeded batch). The
batch is seeded as the aggregator leaves a finished instant batch: its document and its Parquet
export (omtx.devstack.seed.exported_batch; running 100,000 jobs through the local pipeline takes
most of an hour on 2 cores), so the page reads its rows from the API's in-memory table.

What is timed, in the page (performance.now()):
- first screen: from navigation start until the batch header is drawn and the results table holds
  its first page (the histogram loads after it and is not waited for). The first visit, whose
  request loads the batch's table into the API process, is shown apart from the later ones; the
  requests the page made for its last first screen are listed with their start and end times;
- an interaction: from the click or change until the table holds the new page; "page's own
  share" is that time less the wait for the results API's answer (Resource Timing), i.e. what
  the console itself adds on top of the API.

    .venv/bin/python benchmarks/console.py --jobs 100000 --rounds 8
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import sys
import tempfile
import time

FIRST_SCREEN = """() => {
  const body = document.querySelector('#results-table tbody');
  return Boolean(document.querySelector('#batch-status .badge') && body && body.dataset.state === 'ready'
    && body.querySelector('tr[data-job]'));
}"""
# Runs an action in the page and resolves when the table has drawn the answer.
TIMED = """async ([kind, selector, value]) => {
  const body = document.querySelector('#results-table tbody');
  const el = document.querySelector(selector);
  const t0 = performance.now();
  if (kind === 'click') el.click();
  else { el.value = value; el.dispatchEvent(new Event('change', { bubbles: true })); }
  await new Promise((done) => {
    const check = () => (body.dataset.state === 'ready' ? done() : requestAnimationFrame(check));
    requestAnimationFrame(check);
  });
  const total = performance.now() - t0;
  // The results request this action made: its share is the API's, the rest is the page's own.
  // (the histogram's own request, limit=1000, loads beside the table and is not counted)
  const calls = performance.getEntriesByType('resource')
    .filter((e) => e.name.includes('/results?') && !e.name.includes('limit=1000') && e.startTime >= t0);
  const api = calls.length ? Math.max(...calls.map((e) => e.responseEnd)) - t0 : 0;
  return [total, api];
}"""


WATERFALL = """() => performance.getEntriesByType('resource')
  .map((e) => [e.name.replace(location.origin, ''), e.startTime, e.responseEnd])"""


def seed(jobs: int) -> str:
    """A finished instant batch as the aggregator leaves it: the batch document and its Parquet
    export (written by the aggregation's own writer; omtx/devstack/seed.py), so its results come
    from the in-memory table as a finished batch's do."""
    from omtx.devstack import seed as seeding

    return seeding.exported_batch(jobs, "instant").batch_id


def p95(values: list[float]) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]


def percentiles(values: list[float]) -> str:
    return f"p50 {statistics.median(values):7.0f} ms   p95 {p95(values):7.0f} ms   (n={len(values)})"


def drive(api: str, batch_id: str, rounds: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    timings: dict[str, list[float]] = {}

    def note(name: str, ms: float | list[float]) -> None:
        if isinstance(ms, list):  # [total, of which the API's answer]
            timings.setdefault("interactions: page's own", []).append(ms[0] - ms[1])
            ms = ms[0]
        timings.setdefault(name, []).append(ms)

    rng = random.Random(11)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{api}/ui/")  # warm: the first load compiles the modules once
        page.goto(f"{api}/ui/batches/{batch_id}")
        page.wait_for_function(FIRST_SCREEN, timeout=120_000, polling=16)
        note("first visit (the API loads the table)", page.evaluate("performance.now()"))
        for _ in range(rounds):
            page.goto(f"{api}/ui/batches/{batch_id}")
            page.wait_for_function(FIRST_SCREEN, timeout=120_000, polling=16)
            note("first screen", page.evaluate("performance.now()"))
            waterfall = page.evaluate(WATERFALL)
            header = 'th[data-metric="score"] button'
            note("sort ascending", page.evaluate(TIMED, ["click", header, None]))
            note("sort descending", page.evaluate(TIMED, ["click", header, None]))
            note("next page", page.evaluate(TIMED, ["click", "#r-next", None]))
            page.click("summary:has-text('Range filters')")
            low = round(rng.uniform(0.1, 0.8), 2)
            note("range filter (min score)", page.evaluate(TIMED, ["change", "#r-min-score", str(low)]))
            note("status filter (failed)", page.evaluate(TIMED, ["change", "#r-status", "failed"]))
            note("status filter (any)", page.evaluate(TIMED, ["change", "#r-status", ""]))
        browser.close()
    print("the requests of the last first screen (ms from navigation start):")
    for name, start, end in waterfall:
        print(f"  {start:6.0f} – {end:6.0f}  {name}")
    return timings


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--api", help="a running stack's API (default: start one); set OMTX_BASE_PORT to its port")
    parser.add_argument("--batch", help="a batch seeded before (with --api)")
    parser.add_argument("--base-port", type=int, default=29900)
    args = parser.parse_args()
    stack = None
    if args.api is None:
        os.environ |= {
            "OMTX_BASE_PORT": str(args.base_port),
            "OMTX_STATE_DIR": tempfile.mkdtemp(prefix="omtx-console-"),
        }
        from omtx.devstack.stack import Stack
        from omtx.settings import get_settings

        stack = Stack(get_settings())
        stack.up()
    try:
        from omtx.settings import get_settings

        # With --api, OMTX_BASE_PORT names that stack, whose emulators the seeding writes to.
        os.environ |= get_settings().emulator_env()
        api = args.api or get_settings().api_base_url
        batch_id = args.batch
        if batch_id is None:
            started = time.perf_counter()
            batch_id = seed(args.jobs)
            print(f"seeded {args.jobs:,} finished jobs in batch {batch_id} in {time.perf_counter() - started:.0f} s")
        timings = drive(api, batch_id, args.rounds)
        print(f"console on {batch_id} ({args.jobs:,} jobs), Chromium at 1280 px, {args.rounds} rounds:")
        for name, values in timings.items():
            print(f"  {name:38s} {percentiles(values)}")
        own = "interactions: page's own"
        screens = {"first screen", "first visit (the API loads the table)", own}
        interactions = [v for name, values in timings.items() if name not in screens for v in values]
        print(f"  {'all interactions':38s} {percentiles(interactions)}")
        print(f"targets (load average now {os.getloadavg()[0]:.1f}):")
        first, every = p95(timings["first screen"]), p95(interactions)
        print(f"  {'PASS' if first <= 1000 else 'FAIL'}  first screen p95 {first:.0f} ms ≤ 1000 ms")
        print(f"  {'PASS' if every <= 300 else 'FAIL'}  sort/filter interactions p95 {every:.0f} ms ≤ 300 ms")
    finally:
        if stack is not None:
            stack.down(snapshot=False)


if __name__ == "__main__":
    main()
