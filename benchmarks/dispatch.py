"""Dispatch benchmark: jobs dispatched per second on the local stack, and double starts when
10 % of `submitted` chunk messages are delivered twice.

A pull subscription watches `submitted`; every chunk message of the batch is, with probability
--duplicate, published again (a second delivery of the same chunk, as Pub/Sub may do). After the
batch ends, every job must have exactly one attempt and appear in exactly one `dispatched`
message.

    .venv/bin/python benchmarks/dispatch.py --jobs 3000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter


def main() -> None:
    # `timeout` sends SIGTERM: exit through the finally blocks, so the stack is stopped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=3000)
    parser.add_argument("--duplicate", type=float, default=0.10)
    parser.add_argument("--base-port", type=int, default=31700)
    args = parser.parse_args()
    os.environ |= {"OMTX_BASE_PORT": str(args.base_port), "OMTX_STATE_DIR": tempfile.mkdtemp(prefix="omtx-disp-")}
    from google.cloud import pubsub_v1

    from omtx.cli.demo_data import CDK2_SEQUENCE
    from omtx.devstack.stack import Stack
    from omtx.events import JobsSubmitted
    from omtx.gcp import pubsub
    from omtx.gcp.firestore import batches as batch_store
    from omtx.gcp.firestore import jobs as job_store
    from omtx.settings import get_settings

    settings = get_settings()
    stack = Stack(settings)
    stack.up()
    subscriber = pubsub_v1.SubscriberClient()

    def watch(topic: str) -> str:
        name = subscriber.subscription_path(settings.project, f"bench-{topic}-{uuid.uuid4().hex[:6]}")
        subscriber.create_subscription(name=name, topic=f"projects/{settings.project}/topics/{topic}")
        return name

    submitted_sub, dispatched_sub = watch(settings.topic_submitted), watch(settings.topic_dispatched)
    rng = random.Random(7)
    injected = Counter[str]()
    stop = threading.Event()
    batch_ids: list[str] = []

    def duplicate_chunks() -> None:
        while not stop.is_set():
            pulled = subscriber.pull(subscription=submitted_sub, max_messages=500, timeout=5)
            if not pulled.received_messages:
                continue
            subscriber.acknowledge(subscription=submitted_sub, ack_ids=[m.ack_id for m in pulled.received_messages])
            again = []
            for received in pulled.received_messages:
                event = JobsSubmitted.model_validate_json(received.message.data)
                if event.batch_id not in batch_ids:
                    continue
                injected["seen"] += 1
                if event.job_ids and event.chunk >= 0 and rng.random() < args.duplicate:
                    again.append(event)
            if again:
                pubsub.publish(settings.topic_submitted, again)
                injected["duplicates"] += len(again)

    try:
        worker = threading.Thread(target=duplicate_chunks, daemon=True)
        worker.start()
        import requests

        body = {
            "model": "instant",
            "protein": {"sequence": CDK2_SEQUENCE},
            "ligands": [{"name": f"L{i}", "smiles": "C" * (1 + i % 30) + "O"} for i in range(args.jobs)],
        }
        started = time.time()
        response = requests.post(f"{settings.api_base_url}/v1/batches", json=body, timeout=600)
        response.raise_for_status()
        batch_id = response.json()["batch_id"]
        batch_ids.append(batch_id)
        while not batch_store.get_batch(batch_id).status.is_final:  # type: ignore[union-attr]
            time.sleep(1)
        finished = time.time()
        time.sleep(3)  # duplicates published late still reach dispatch
        stop.set()
        worker.join()

        starts = Counter[str]()
        times: list[float] = []
        while True:
            pulled = subscriber.pull(subscription=dispatched_sub, max_messages=1000, timeout=5)
            if not pulled.received_messages:
                break
            subscriber.acknowledge(subscription=dispatched_sub, ack_ids=[m.ack_id for m in pulled.received_messages])
            for received in pulled.received_messages:
                message = json.loads(received.message.data)
                if message["batch_id"] == batch_id:
                    starts.update(message["job_ids"])
                    times.append(received.message.publish_time.timestamp())
        jobs = list(job_store.iter_jobs(batch_id))
        attempts = Counter(j.attempts for j in jobs)
        span = max(times) - min(times) if times else float("nan")
        print(f"{args.jobs} instant jobs, chunks of 50, {settings.local_workers} local worker processes")
        print(
            f"  dispatched: {len(starts)} jobs in {span:.1f} s between the first and last `dispatched` message "
            f"({len(starts) / span:.0f} jobs/s); batch finished {finished - started:.1f} s after submit"
        )
        print(
            f"  injected: {injected['duplicates']} duplicate chunk deliveries of {injected['seen']} "
            f"`submitted` messages seen"
        )
        doubles = sum(n - 1 for n in starts.values() if n > 1)
        print(
            f"  double starts: {doubles} (jobs in more than one `dispatched` message); "
            f"attempts per job: {dict(attempts)}"
        )
    finally:
        stop.set()
        for name in (submitted_sub, dispatched_sub):
            subscriber.delete_subscription(subscription=name)
        stack.down()


if __name__ == "__main__":
    main()
