"""Results views at interactive speed, over HTTP on the local stack, with the batch-status endpoint
measured in the same run as the yardstick (the clients share the machine's cores with the stack).

1. A running batch (default 10,000 jobs, half of them done) through the Firestore path, C
   closed-loop clients for T seconds per endpoint. It runs first: the emulator scans documents,
   so its queries slow down once the large batch below is in it too.
2. A finished batch of the `instant` model (default 100,000 jobs), seeded: by default the batch
   document and its Parquet export written by the aggregation's own writer (seed.exported_batch,
   which keeps the run under 10 minutes); with --finished-from documents, its job documents
   written with the store's own functions and the real aggregation run over them (many minutes).
   Its results pages come from the batch's table in memory.
3. The first request after a cold start of the API (its Parquet not loaded yet).
4. The status endpoint, then results pages (the first page sorted by score, a page 75 % deep in
   the sort by cursor, filtered pages, a text search, and all of them mixed), then the status
   endpoint again.
5. Memory: B other finished batches of N jobs each (batch documents and Parquet exports written
   directly from one aggregation export, each with its own ids, scores and revision metadata)
   requested in turn by fresh API processes; each process's RSS growth over its own before the
   first table (imports and clients made) is sampled after each, against the cache's bound.
Last, PASS/FAIL against the targets. Figures on a busy machine are noisy: the ratios to the status
endpoint, measured in the same run, say more than the milliseconds.

    .venv/bin/python benchmarks/results_speed.py --jobs 100000 --clients 16 --seconds 15
    .venv/bin/python benchmarks/results_speed.py --parts finished   # steps 2-4 only
"""

from __future__ import annotations

import argparse
import io
import os
import random
import re
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import requests
from read_api import load

Result = dict[str, Any]
PARTS = ("running", "finished", "memory")
CACHE_LOG = re.compile(r"results cache: (\d+) tables, (\d+) of (\d+) bytes")


def measure(api: str, name: str, paths: list[str], clients: int, seconds: float, pids: Sequence[int] = ()) -> Result:
    """Closed-loop load on `paths`; with the API's `pids`, also the CPU time those processes spent
    per request (user + system): a figure that other load on the machine disturbs far less."""
    load(api, paths, clients, min(2.0, seconds))  # warm every API process
    before = cpu_s(pids)
    n, latencies, errors = load(api, paths, clients, seconds)
    cpu_ms = (cpu_s(pids) - before) * 1000 / max(1, n)
    q = statistics.quantiles(latencies, n=100)
    found = {"name": name, "rps": n / seconds, "p50": q[49] * 1000, "p95": q[94] * 1000, "p99": q[98] * 1000}
    found["cpu_ms"] = cpu_ms
    shown = f"  {cpu_ms:5.2f} ms API CPU/req" if pids else ""
    print(
        f"  {name:44} {found['rps']:6.0f} req/s  p50 {found['p50']:6.1f} ms  p95 {found['p95']:6.1f} ms  "
        f"p99 {found['p99']:6.1f} ms  ({n} requests, {errors} non-200){shown}",
        flush=True,
    )
    return found


def cpu_s(pids: Sequence[int]) -> float:
    """CPU seconds (user + system) the processes have used."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def deep_cursor(api: str, batch_id: str, query: str, rows: int) -> str:
    """The cursor after the first `rows` rows of the view, walked to a page at a time."""
    cursor, seen = "", 0
    while seen < rows:
        limit = min(1000, rows - seen)
        page = requests.get(f"{api}/v1/batches/{batch_id}/results?{query}&limit={limit}{cursor}", timeout=60).json()
        seen += len(page["jobs"])
        cursor = f"&cursor={page['next_cursor']}"
    return cursor


def views(api: str, batch_id: str, deep_rows: int) -> list[tuple[str, list[str]]]:
    base = f"/v1/batches/{batch_id}/results?limit=50"
    deep = deep_cursor(api, batch_id, "order_by=-score", deep_rows)
    return [
        ("results: first page, order_by=-score", [f"{base}&order_by=-score"]),
        (f"results: page {deep_rows:,} rows deep (cursor)", [f"{base}&order_by=-score{deep}"]),
        ("results: min/max_score, order_by=score", [f"{base}&order_by=score&min_score=0.25&max_score=0.75"]),
        ("results: status=failed, order_by=-score", [f"{base}&order_by=-score&status=failed"]),
        ("results: q=ZINC0000123 (text search)", [f"{base}&q=ZINC0000123&order_by=-score"]),
        ("results: first page, fields=ligand_name,score", [f"{base}&order_by=-score&fields=ligand_name,score"]),
    ]


def api_processes(stack: Any) -> list[int]:
    """The API's gunicorn workers: the children of its master."""
    master = stack._running("submit").pid
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children] or [master]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def exported_copies(template: Any, count: int, n: int) -> list[str]:
    """`count` finished batches whose exports are copies of one aggregation export, each with its
    own batch id, job ids, scores and metadata; written as the aggregator writes them."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from omtx.aggregation import META_BATCH_ID
    from omtx.devstack import seed
    from omtx.domain import BatchStatus, utcnow
    from omtx.gcp import storage
    from omtx.gcp.firestore import batches as batch_store
    from omtx.settings import get_settings

    bucket = get_settings().results_bucket
    old = template.schema.metadata[META_BATCH_ID].decode()
    ids = []
    for k in range(count):
        batch = seed._batch(n, "instant", BatchStatus.COMPLETED, "default")
        rng = random.Random(k)
        table = template
        for column in ("result_uri", "files"):
            replaced = pc.replace_substring(table.column(column), old, batch.batch_id)
            table = table.set_column(table.schema.get_field_index(column), column, replaced)
        job_ids = [f"{rng.getrandbits(64):016x}" for _ in range(n)]
        table = table.set_column(table.schema.get_field_index("job_id"), "job_id", pa.array(job_ids))
        scores = pa.array([round(rng.random(), 6) for _ in range(n)], pa.float64())
        table = table.set_column(table.schema.get_field_index("score"), "score", scores)
        table = table.replace_schema_metadata(template.schema.metadata | {META_BATCH_ID: batch.batch_id.encode()})
        sink = io.BytesIO()
        pq.write_table(table, sink, compression="zstd")
        name = f"batches/{batch.batch_id}/results/batch_results.parquet"
        storage.put_bytes(bucket, name, sink.getvalue(), "application/vnd.apache.parquet")
        final = batch.model_copy(
            update={
                "results": {"parquet": f"gs://{bucket}/{name}"},
                "succeeded": n,
                "failed": 0,
                "finished_at": utcnow(),
            }
        )
        batch_store.create_batch(final, [])
        ids.append(batch.batch_id)
    return ids


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--running-jobs", type=int, default=10_000)
    parser.add_argument("--batches", type=int, default=50, help="finished batches requested in turn (memory)")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--base-port", type=int, default=29800)
    parser.add_argument(
        "--finished-from",
        choices=["documents", "export"],
        default="export",
        help="export (default): the batch and its Parquet export only, written by the aggregation's own writer; "
        "documents: job documents and the aggregation run over them (many minutes for 100,000 jobs)",
    )
    parser.add_argument(
        "--parts",
        nargs="+",
        choices=PARTS,
        default=list(PARTS),
        help="running (1), finished (2-4), memory (5; seeds the finished batch too)",
    )
    args = parser.parse_args()
    os.environ |= {"OMTX_BASE_PORT": str(args.base_port), "OMTX_STATE_DIR": tempfile.mkdtemp(prefix="omtx-results-")}
    import pyarrow.parquet as pq

    from omtx.devstack import seed
    from omtx.devstack.stack import Stack
    from omtx.gcp import storage
    from omtx.settings import get_settings

    settings = get_settings()
    stack = Stack(settings)
    stack.up()
    os.environ.update(settings.emulator_env())
    api = settings.api_base_url
    clients, seconds = args.clients, args.seconds
    print(f"load average {os.getloadavg()[0]:.1f}; {clients} clients, {seconds:.0f} s per run", flush=True)
    verdicts: list[tuple[str, bool]] = []
    finished_wanted = "finished" in args.parts or "memory" in args.parts
    try:
        if "running" in args.parts:
            running = seed.running_batch(args.running_jobs, "instant", terminal=False)
            print(f"running batch, {args.running_jobs:,} jobs (half done), Firestore path:")
            rid = running.batch_id
            base = f"/v1/batches/{rid}/results?limit=50"
            status = measure(api, "status: GET /v1/batches/{id}", [f"/v1/batches/{rid}"], clients, seconds)
            for name, paths in (
                ("results: first page, by index", [base]),
                ("results: first page, order_by=-score", [f"{base}&order_by=-score"]),
                ("results: min_score=0.5, by index", [f"{base}&min_score=0.5"]),
                (
                    "results: page 4,000 rows deep, order_by=-score",
                    [f"{base}&order_by=-score" + deep_cursor(api, rid, "order_by=-score", 4000)],
                ),
            ):
                found = measure(api, name, paths, clients, seconds)
                said = f"running batch, {name}: p95 {found['p95']:.0f} ms ≤ 150 ms (status {status['p95']:.0f} ms)"
                verdicts.append((said, found["p95"] <= 150))
                measure(api, "  the same, 1 client", paths, 1, seconds)

        if finished_wanted:
            started = time.monotonic()
            if args.finished_from == "documents":
                finished = seed.finish(seed.running_batch(args.jobs, "instant", fail_every=50))
            else:
                finished = seed.exported_batch(args.jobs, "instant")
            took = time.monotonic() - started
            print(
                f"seeded a finished {args.jobs:,}-job instant batch from {args.finished_from} in {took:.0f} s",
                flush=True,
            )
            bid = finished.batch_id

        if "finished" in args.parts:
            # A cold API process also makes its Google clients on its first request, whatever it is:
            # the first status request after a restart shows that share.
            stack.restart("submit", env={"WORKERS": "1"})
            started = time.perf_counter()
            requests.get(f"{api}/v1/batches/{bid}", timeout=60)
            print(f"cold start, 1 API process: first status request {(time.perf_counter() - started) * 1000:.0f} ms")
            started = time.perf_counter()
            requests.get(f"{api}/v1/batches/{bid}/results?limit=50&order_by=-score", timeout=60)
            print(
                f"  then the first results request (the Parquet loaded) {(time.perf_counter() - started) * 1000:.0f} ms"
            )
            stack.restart("submit")
            first = f"{api}/v1/batches/{bid}/results?limit=50&order_by=-score"
            started = time.perf_counter()
            response = requests.get(first, timeout=60)
            cold = time.perf_counter() - started
            assert response.status_code == 200 and response.headers["OMTX-Results-Source"] == "table", response.text
            started = time.perf_counter()
            requests.get(first, timeout=60)
            warm = time.perf_counter() - started
            print(f"cold start: first results request {cold * 1000:.0f} ms (the next one {warm * 1000:.0f} ms)")
            verdicts.append((f"cold start: first results request {cold * 1000:.0f} ms ≤ 1000 ms", cold <= 1.0))

            print(f"finished batch, {args.jobs:,} jobs (each results view paired with a status run just before it):")
            pages = views(api, bid, args.jobs * 3 // 4)
            pages.append(("results: all of the above, mixed", [p for _, ps in pages for p in ps]))
            ratios = []
            cpu_ratios: list[float] = []
            for name, paths in pages:
                workers = api_processes(stack)
                status = measure(api, "status: GET /v1/batches/{id}", [f"/v1/batches/{bid}"], clients, seconds, workers)
                found = measure(api, name, paths, clients, seconds, workers)
                ratios.append((name, found["rps"] / status["rps"], found["p95"], status["p95"]))
                cpu_ratios.append(found["cpu_ms"] / status["cpu_ms"])
            for (name, ratio, p95, status_p95), cpu_ratio in zip(ratios, cpu_ratios, strict=True):
                shown = f"p95 {p95:.1f} ms (status {status_p95:.1f} ms); {cpu_ratio:.2f}x its API CPU per request"
                print(f"  {name:44} {ratio:5.2f} of the status endpoint's req/s; {shown}")
                verdicts.append((f"finished batch, {name}: p95 {p95:.0f} ms ≤ 50 ms", p95 <= 50))
                verdicts.append((f"finished batch, {name}: {ratio:.2f} of status req/s ≥ 0.80", ratio >= 0.8))

        if "memory" in args.parts:
            template = pq.read_table(io.BytesIO(storage.get_bytes(finished.results["parquet"])))
            ids = exported_copies(template, args.batches, args.jobs)
            # Fresh API processes, their imports and Google clients made by a status request each:
            # what the tables add is measured from there.
            stack.restart("submit")
            pids = api_processes(stack)
            for _ in range(4 * len(pids)):
                requests.get(f"{api}/v1/batches/{bid}", timeout=60)
            baseline = {pid: rss_mib(pid) for pid in pids}
            bound = settings.results_cache_mb
            print(
                f"memory: {args.batches} finished {args.jobs:,}-job batches in turn; cache bound {bound} MiB a process"
            )
            print(f"  RSS of the fresh API processes: {', '.join(f'{r:.0f}' for r in baseline.values())} MiB")
            peaks = dict.fromkeys(pids, 0.0)
            for k, batch_id in enumerate(ids, 1):
                for _ in range(2 * len(pids)):  # reach every API process
                    requests.get(f"{api}/v1/batches/{batch_id}/results?limit=50&order_by=-score", timeout=60)
                sizes = {pid: rss_mib(pid) for pid in pids}
                peaks = {pid: max(peaks[pid], sizes[pid]) for pid in pids}
                if k in (1, 5, 10, 20, 30, 40, 50) or k == len(ids):
                    shown = ", ".join(f"{s:.0f}" for s in sizes.values())
                    print(f"  after {k:2} batches: RSS of the API processes {shown} MiB", flush=True)
            print(f"  peak RSS per API process: {', '.join(f'{p:.0f}' for p in peaks.values())} MiB")
            growth = max(peaks[pid] - baseline[pid] for pid in pids)
            verdicts.append(
                (f"memory: the tables add at most {growth:.0f} MiB per process ≤ {bound} MiB", growth <= bound)
            )
            held = [int(m.group(2)) for m in CACHE_LOG.finditer((stack.log_dir / "submit.log").read_text())]
            print(
                f"  the cache's own count (its log): at most {max(held, default=0) / 2**20:.0f} MiB of {bound} MiB held"
            )
        print(f"targets (load average now {os.getloadavg()[0]:.1f}):")
        for text, ok in verdicts:
            print(f"  {'PASS' if ok else 'FAIL'}  {text}")
    finally:
        stack.down()


if __name__ == "__main__":
    main()
