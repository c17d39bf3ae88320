"""Recovery benchmark: kill -9 one process of the local stack in the middle of a 300-job
`rdkit_props` batch, restart only that process, and time how long the batch takes to move again
and to finish, with the stack's default settings (lease, heartbeat, reconcile interval,
deadlines: nothing shortened).

For each of the four services and the local executor's worker processes it prints the time from
the restart to the batch resumed (its done count moving again; 0.0 when it never stopped) and to
the batch finished, the counts (exact: every job succeeded once, the counters equal to the job
documents), how many jobs ran more than once, and how many the reconciler recorded from the
results.json their worker left behind (their job-done was lost). The workers are not restarted
by hand: the dispatch service starts a new process pool on its next call, so their row counts
from the kill.

    .venv/bin/python benchmarks/recovery.py [--ligands 300] [--only complete]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

TARGETS = ("submit", "dispatch", "complete", "aggregate", "workers")


@dataclass
class Row:
    target: str
    done_at_kill: int = 0
    restart_s: float = 0.0  # kill → the process is healthy again
    resumed_s: float | None = None  # restart → done count moving again
    finished_s: float | None = None  # restart → batch final
    total: int = 0
    succeeded: int = 0
    failed: int = 0
    exact: bool = False
    rerun: int = 0  # jobs that ran more than once
    recovered: int = 0  # jobs the reconciler recorded from the results.json their worker left


def main() -> None:
    # `timeout` sends SIGTERM: exit through the finally blocks, so the stack is stopped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ligands", type=int, default=300)
    parser.add_argument("--base-port", type=int, default=32700)
    parser.add_argument("--only", choices=TARGETS, action="append", help="run these scenarios only")
    parser.add_argument("--outage", type=float, default=2.0, help="seconds a killed service stays down")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds a batch may take to finish")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="omtx-recovery-"))
    os.environ |= {"OMTX_BASE_PORT": str(args.base_port), "OMTX_STATE_DIR": str(work / "stack")}
    # Imported after the environment is set: settings are read once per process.
    from omtx.devstack.stack import Stack
    from omtx.settings import get_settings

    settings = get_settings()
    stack = Stack(settings)
    up_s = stack.up()
    rows = []
    try:
        print(
            f"stack up in {up_s:.1f} s; defaults: lease {settings.lease_s} s, heartbeat {settings.heartbeat_s} s, "
            f"reconcile every {settings.reconcile_interval_s} s, job deadline {settings.job_deadline_s} s, "
            f"{settings.local_workers} local workers",
            flush=True,
        )
        for target in args.only or TARGETS:
            rows.append(scenario(stack, target, args.ligands, args.outage, args.timeout))
            print(line(rows[-1]), flush=True)
    finally:
        stack.down(snapshot=False)
    print()
    print(
        f"{'killed':10} {'done@kill':>9} {'restart':>8} {'resumed':>8} {'finished':>9} {'counts':>13} "
        f"{'rerun':>6} {'from file':>9}"
    )
    for row in rows:
        print(line(row))
    slow = [r.target for r in rows if r.resumed_s is None or r.resumed_s > 60]
    wrong = [r.target for r in rows if not r.exact]
    print(f"resumed within 60 s of the restart: {'all' if not slow else 'not ' + ', '.join(slow)}")
    print(f"exact counts: {'all' if not wrong else 'not ' + ', '.join(wrong)}")


def scenario(stack, target: str, ligands: int, outage_s: float, timeout_s: float) -> Row:  # type: ignore[no-untyped-def]
    from omtx.cli.demo_data import CDK2_SEQUENCE, cdk2_ligands
    from omtx.domain import JobStatus
    from omtx.gcp.firestore import batches as batch_store
    from omtx.gcp.firestore import jobs as job_store

    api = stack.settings.api_base_url
    request: dict[str, Any] = {
        "name": f"recovery-{target}",
        "model": "rdkit_props",
        "cache": False,
        "protein": {"sequence": CDK2_SEQUENCE},
        # RDKit's 47 CDK2 ligands, over and over (every job runs: the cache is off)
        "ligands": [
            {"name": f"{lig['name']}-{i}", "smiles": lig["smiles"]}
            for i, lig in enumerate((cdk2_ligands(1000) * ligands)[:ligands])
        ],
    }
    accepted = requests.post(f"{api}/v1/batches", json=request, timeout=120)
    accepted.raise_for_status()
    batch_id = accepted.json()["batch_id"]
    total = accepted.json()["accepted"]

    def done() -> int:
        return batch_store.get_counts(batch_id, total).done

    row = Row(target=target, total=total)
    while done() < total // 5:  # well started, far from done
        time.sleep(0.05)
    row.done_at_kill = done()
    reconciler_log = stack.log_dir / "scheduler.log"
    log_offset = reconciler_log.stat().st_size
    killed_at = time.monotonic()
    if target == "workers":
        assert stack.kill_workers("dispatch"), "dispatch had no worker processes to kill"
        restarted_at = killed_at
    else:
        stack.kill(target)
        time.sleep(outage_s)
        stack.restart(target)
        restarted_at = time.monotonic()
    row.restart_s = restarted_at - killed_at
    at_restart = done()
    deadline = restarted_at + timeout_s
    while time.monotonic() < deadline:
        now_done = done()
        if row.resumed_s is None and (now_done > at_restart or now_done == total):
            row.resumed_s = time.monotonic() - restarted_at
        batch = batch_store.get_batch(batch_id)
        if batch is not None and batch.status.is_final:
            row.finished_s = time.monotonic() - restarted_at
            break
        time.sleep(0.2)
    batch = batch_store.get_batch(batch_id)
    counts = batch_store.get_counts(batch_id, total)
    jobs = list(job_store.iter_jobs(batch_id))
    statuses = Counter(j.status for j in jobs)
    row.succeeded, row.failed = counts.succeeded, counts.failed
    row.rerun = sum(j.attempts > 1 for j in jobs)
    # The scheduler logs each reconcile pass's report (one JSON line per pass).
    with reconciler_log.open() as log:
        log.seek(log_offset)
        row.recovered = sum(json.loads(line[4:])["recovered"] for line in log if line.startswith("200 {"))
    row.exact = (
        batch is not None
        and (batch.succeeded, batch.failed) == (counts.succeeded, counts.failed)
        and counts.done == total == len(jobs)
        and statuses == Counter({JobStatus.SUCCEEDED: counts.succeeded, JobStatus.FAILED: counts.failed}) - Counter()
    )
    return row


def line(row: Row) -> str:
    def s(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f}s"

    counts = f"{row.succeeded}+{row.failed}/{row.total}"
    return (
        f"{row.target:10} {row.done_at_kill:>9} {s(row.restart_s):>8} {s(row.resumed_s):>8} {s(row.finished_s):>9} "
        f"{counts:>13} {row.rerun:>6} {row.recovered:>9}{'' if row.exact else '  NOT EXACT'}"
    )


if __name__ == "__main__":
    main()
