"""Read-API load test on loopback: batch status and a results page of a finished batch.

Starts its own stack (or uses --api of a running one), creates a finished batch of instant jobs,
then runs C concurrent keep-alive clients for T seconds per endpoint and prints requests/s and
p50/p95/p99 latency. The clients share the machine's 2 cores with the stack.

    .venv/bin/python benchmarks/read_api.py --seconds 15 --clients 16
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
from urllib.parse import urlsplit

import requests


def load(api: str, path: str | list[str], clients: int, seconds: float) -> tuple[int, list[float], int]:
    """C closed-loop keep-alive clients for T seconds; a list of paths is requested in turn."""
    paths = [path] if isinstance(path, str) else path
    url = urlsplit(api)
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(k: int) -> None:
        nonlocal errors
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        mine: list[float] = []
        bad = 0
        while time.monotonic() < deadline:
            start = time.perf_counter()
            conn.request("GET", paths[(len(mine) + k) % len(paths)])
            response = conn.getresponse()
            response.read()
            mine.append(time.perf_counter() - start)
            bad += response.status != 200
        with lock:
            latencies.extend(mine)
            errors += bad

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(latencies), latencies, errors


def main() -> None:
    # `timeout` sends SIGTERM: exit through the finally blocks, so the stack is stopped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--base-port", type=int, default=29700)
    args = parser.parse_args()
    os.environ |= {"OMTX_BASE_PORT": str(args.base_port), "OMTX_STATE_DIR": tempfile.mkdtemp(prefix="omtx-read-")}
    from omtx.cli.demo_data import CDK2_SEQUENCE, cdk2_ligands
    from omtx.devstack.stack import Stack
    from omtx.settings import get_settings

    settings = get_settings()
    stack = Stack(settings)
    stack.up()
    try:
        api = settings.api_base_url
        pool = cdk2_ligands(47)
        ligands = [{"name": f"L{i}", "smiles": pool[i % 47]["smiles"]} for i in range(args.jobs)]
        batch_id = requests.post(
            f"{api}/v1/batches",
            json={"model": "instant", "protein": {"sequence": CDK2_SEQUENCE}, "ligands": ligands},
            timeout=120,
        ).json()["batch_id"]
        while requests.get(f"{api}/v1/batches/{batch_id}", timeout=10).json()["status"] != "completed":
            time.sleep(0.5)
        for name, path in (
            ("batch status", f"/v1/batches/{batch_id}"),
            ("results page (50, order_by=-score)", f"/v1/batches/{batch_id}/results?limit=50&order_by=-score"),
        ):
            n, latencies, errors = load(api, path, args.clients, args.seconds)
            q = statistics.quantiles(latencies, n=100)
            print(
                f"{name:38} {n / args.seconds:6.0f} req/s  p50 {q[49] * 1000:5.1f} ms  p95 {q[94] * 1000:5.1f} ms  "
                f"p99 {q[98] * 1000:5.1f} ms  ({n} requests, {errors} non-200, {args.clients} clients)"
            )
    finally:
        stack.down()


if __name__ == "__main__":
    main()
