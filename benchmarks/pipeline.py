"""Pipeline benchmark: N instant-model jobs through the whole local stack.

Prints submit → 202, submit → batch-done wall time, jobs/s, finalisation latency (last job-done
published → batch-done published, from Pub/Sub publish times), and Firestore writes, GCS writes
and Pub/Sub messages per job. Messages are counted on the wire (a pull subscription per topic);
writes are counted by the adapters of every process (OMTX_STATS_DIR).

    .venv/bin/python benchmarks/pipeline.py --jobs 10000
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests


def group_cpu_seconds(pgid: int) -> float:
    """CPU time of every live process in a process group (a service and its workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # field 5 of /proc/pid/stat: process group
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def cpu_by_process(stack) -> dict[str, float]:  # type: ignore[no-untyped-def]
    return {r.name: group_cpu_seconds(r.pid) for r in stack.running()}


def main() -> None:
    # `timeout` sends SIGTERM: exit through the finally blocks, so the stack is stopped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--base-port", type=int, default=28700)
    parser.add_argument("--workers", type=int, default=2, help="local executor processes")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="omtx-bench-"))
    stats_dir = work / "stats"
    stats_dir.mkdir()
    os.environ |= {
        "OMTX_BASE_PORT": str(args.base_port),
        "OMTX_STATE_DIR": str(work / "stack"),
        "OMTX_STATS_DIR": str(stats_dir),
        "OMTX_LOCAL_WORKERS": str(args.workers),
    }
    # Imported after the environment is set: settings are read once per process.
    from google.cloud import pubsub_v1

    from omtx import metrics
    from omtx.cli.demo_data import CDK2_SEQUENCE, cdk2_ligands
    from omtx.devstack.stack import Stack
    from omtx.settings import get_settings

    settings = get_settings()
    stack = Stack(settings)
    up_s = stack.up()
    try:
        subscriber = pubsub_v1.SubscriberClient()
        topics = [
            settings.topic_submitted,
            settings.topic_dispatched,
            settings.topic_job_done,
            settings.topic_batch_done,
        ]
        subs = {}
        for topic in topics:
            name = subscriber.subscription_path(settings.project, f"bench-{topic}-{uuid.uuid4().hex[:6]}")
            subscriber.create_subscription(name=name, topic=f"projects/{settings.project}/topics/{topic}")
            subs[topic] = name
        pool = cdk2_ligands(47)
        ligands = [{"name": f"L{i:06d}", "smiles": pool[i % len(pool)]["smiles"]} for i in range(args.jobs)]
        body = {"model": "instant", "protein": {"sequence": CDK2_SEQUENCE}, "ligands": ligands}

        cpu_before = cpu_by_process(stack)
        started = time.monotonic()
        response = requests.post(f"{settings.api_base_url}/v1/batches", json=body, timeout=600)
        accepted_s = time.monotonic() - started
        response.raise_for_status()
        batch_id = response.json()["batch_id"]

        batch_done = None
        while batch_done is None:
            pulled = subscriber.pull(subscription=subs[settings.topic_batch_done], max_messages=10, timeout=30)
            for m in pulled.received_messages:
                if m.message.attributes.get("batch_id") == batch_id:
                    batch_done = m.message
            if time.monotonic() - started > 1800:
                raise SystemExit("no batch-done within 30 minutes")
        wall_s = time.monotonic() - started
        cpu_after = cpu_by_process(stack)

        counted = {topic: 0 for topic in topics}
        last_job_done = None
        for topic, sub in subs.items():
            while True:
                pulled = subscriber.pull(subscription=sub, max_messages=1000, timeout=5)
                if not pulled.received_messages:
                    break
                subscriber.acknowledge(subscription=sub, ack_ids=[m.ack_id for m in pulled.received_messages])
                for m in pulled.received_messages:
                    if m.message.attributes.get("batch_id") != batch_id:
                        continue
                    counted[topic] += 1
                    if topic == settings.topic_job_done:
                        t = m.message.publish_time
                        last_job_done = t if last_job_done is None or t > last_job_done else last_job_done
            subscriber.delete_subscription(subscription=sub)
        time.sleep(1.0)  # let every process flush its counters
        ops = metrics.collect(stats_dir)
    finally:
        stack.down()

    assert last_job_done is not None and batch_done is not None
    finalisation_s = (batch_done.publish_time - last_job_done).total_seconds()
    n = args.jobs
    messages = sum(counted.values())
    print(f"jobs                          {n}")
    print(f"stack up                      {up_s:.1f} s")
    print(f"submit → 202                  {accepted_s:.2f} s")
    print(f"submit → batch-done           {wall_s:.1f} s   (goal ≤ 120 s for 10,000)")
    print(f"throughput                    {n / wall_s:.0f} jobs/s")
    print(f"finalisation latency          {finalisation_s:.2f} s   (last job-done → batch-done published; goal ≤ 2 s)")
    print(f"Firestore writes per job      {ops.get('firestore.writes', 0) / n:.2f}   (goal ≤ 4)")
    print(f"GCS writes per job            {ops.get('gcs.writes', 0) / n:.2f}")
    print(f"Pub/Sub messages per job      {messages / n:.3f}   (goal ≤ 3) {counted}")
    cpu = {name: cpu_after.get(name, 0.0) - cpu_before.get(name, 0.0) for name in cpu_after}
    print(
        f"CPU ms per job (2 cores, wall {wall_s * 1000 / n:.1f} ms/job): "
        + ", ".join(f"{k} {v * 1000 / n:.1f}" for k, v in sorted(cpu.items(), key=lambda kv: -kv[1]))
    )


if __name__ == "__main__":
    main()
