"""Submission benchmark: one large batch as JSON over HTTPS and as a CSV drop, on the local stack.

Prints time to 202 (JSON) or to the drop's result file (CSV), time from 202 to the first
`dispatched` message, time until every job document exists (large batches are fanned out in the
background), the validation rate, and the submit service's peak RSS. The stack is stopped once
every job document exists: the instant model's jobs run meanwhile and compete for the CPU.

    .venv/bin/python benchmarks/submit.py --ligands 100000
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests

SUBSTITUENTS = ["F", "Cl", "Br", "C", "OC", "C(F)(F)F", "C#N", "N(C)C", "O", "CC", "S(C)(=O)=O", "C(N)=O"]
ACYL_RINGS = ["c1ccc({})cc1", "c1cc({})ccc1", "c1c({})cccc1", "c1ccc({})nc1", "c1cc({})cnc1", "c1csc({})c1"]
AMINE_TAILS = [
    "C",
    "CC",
    "CCC",
    "C(C)C",
    "C1CC1",
    "C1CCCC1",
    "C1CCOCC1",
    "CCO",
    "CCN(C)C",
    "Cc1ccccc1",
    "CC(=O)O",
    "C(C)(C)C",
    "CCCO",
    "C1CCNCC1",
    "COC",
    "CC#N",
    "CF",
    "CCl",
    "C(=O)C",
    "CS",
]


def library(n: int) -> list[str]:
    """n distinct drug-like amides (acyl ring × substituent × amine ring × substituent × tail):
    a benchmark on a few repeated strings would measure the duplicate cache, not RDKit."""
    acyls = [ring.format(s) for ring in ACYL_RINGS for s in SUBSTITUENTS]
    amines = [f"{ring.format(s)}{tail}" for ring in ACYL_RINGS for s in SUBSTITUENTS for tail in AMINE_TAILS]
    smiles = [f"{acyl}C(=O)N{amine}" for acyl in acyls for amine in amines]
    if n > len(smiles):
        raise SystemExit(f"at most {len(smiles)} distinct ligands")
    return smiles[:n]


def peak_rss_mib(pgid: int) -> float:
    """Largest VmHWM of the processes in a group (the submit service's gunicorn workers)."""
    peak = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            stat = (status.parent / "stat").read_text().rsplit(")", 1)[1].split()
            if int(stat[2]) != pgid:
                continue
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except (OSError, IndexError, ValueError):
            continue
    return peak / 1024


def main() -> None:
    # `timeout` sends SIGTERM: exit through the finally blocks, so the stack is stopped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ligands", type=int, default=100_000)
    parser.add_argument("--base-port", type=int, default=30700)
    parser.add_argument("--paths", nargs="+", choices=["json", "csv"], default=["json", "csv"])
    parser.add_argument(
        "--no-wait-written", action="store_true", help="stop at the first dispatch (writing every job takes minutes)"
    )
    args = parser.parse_args()
    os.environ |= {"OMTX_BASE_PORT": str(args.base_port), "OMTX_STATE_DIR": tempfile.mkdtemp(prefix="omtx-sub-")}
    from google.cloud import pubsub_v1

    from omtx.cli.demo_data import CDK2_SEQUENCE
    from omtx.devstack.stack import Stack
    from omtx.gcp.clients import storage_client
    from omtx.settings import get_settings

    settings = get_settings()
    ligands = [{"name": f"L{i:06d}", "smiles": smiles} for i, smiles in enumerate(library(args.ligands))]
    n = args.ligands

    def on_fresh_stack(measure):  # type: ignore[no-untyped-def]
        """Each path on its own stack: the first batch's jobs must not slow the second."""
        stack = Stack(settings)
        stack.up()
        subscriber = pubsub_v1.SubscriberClient()
        sub = subscriber.subscription_path(settings.project, f"bench-dispatched-{uuid.uuid4().hex[:6]}")
        subscriber.create_subscription(
            name=sub, topic=f"projects/{settings.project}/topics/{settings.topic_dispatched}"
        )
        try:
            measure(lambda batch_id: first_dispatch(subscriber, sub, batch_id))
            submit_pgid = next(r.pid for r in stack.running() if r.name == "submit")
            print(f"      submit service peak RSS {peak_rss_mib(submit_pgid):.0f} MiB (largest process)")
        finally:
            stack.down()

    def all_jobs_written(batch_id: str) -> float:
        from omtx.gcp.firestore import jobs as job_store

        if args.no_wait_written:
            return float("nan")

        while job_store.count_jobs(batch_id) < n:
            time.sleep(0.5)
        return time.time()

    def first_dispatch(subscriber, sub, batch_id):  # type: ignore[no-untyped-def]
        while True:
            pulled = subscriber.pull(subscription=sub, max_messages=100, timeout=30)
            for m in pulled.received_messages:
                if m.message.attributes.get("batch_id") == batch_id:
                    return m.message.publish_time.timestamp()

    def json_path(dispatched):  # type: ignore[no-untyped-def]
        body = {"model": "instant", "protein": {"sequence": CDK2_SEQUENCE}, "ligands": ligands}
        started = time.time()
        response = requests.post(f"{settings.api_base_url}/v1/batches", json=body, timeout=900)
        accepted_at = time.time()
        response.raise_for_status()
        batch_id = response.json()["batch_id"]
        first = dispatched(batch_id)
        written = all_jobs_written(batch_id)
        print(
            f"JSON  {n} ligands: 202 after {accepted_at - started:.1f} s ({n / (accepted_at - started):,.0f} "
            f"ligands/s end to end); first dispatch {first - accepted_at:+.1f} s after 202; "
            f"every job document written {written - accepted_at:+.1f} s after 202"
        )

    def csv_path(dispatched):  # type: ignore[no-untyped-def]
        csv_text = f"# protein: {CDK2_SEQUENCE}\n# model: instant\nname,smiles\n" + "\n".join(
            f"{lig['name']},{lig['smiles']}" for lig in ligands
        )
        name = f"drops/bench-{uuid.uuid4().hex[:6]}.csv"
        bucket = storage_client().bucket(settings.inputs_bucket)
        started = time.time()
        bucket.blob(name).upload_from_string(csv_text, content_type="text/csv")
        result_blob = bucket.blob(name + ".result.json")
        while not result_blob.exists():
            time.sleep(0.5)
        done_at = time.time()
        result = json.loads(result_blob.download_as_bytes())
        first = dispatched(result["batch_id"])
        written = all_jobs_written(result["batch_id"])
        print(
            f"CSV   {n} ligands: result file after {done_at - started:.1f} s ({result['accepted']} accepted); "
            f"first dispatch {first - started:.1f} s and every job document {written - started:.1f} s "
            "after the upload"
        )

    from omtx.chemistry.ligands import describe_all

    clock = time.perf_counter()
    describe_all([lig["smiles"] for lig in ligands])
    seconds = time.perf_counter() - clock
    print(f"validation alone (RDKit, {os.cpu_count()} cores): {n / seconds:,.0f} SMILES/s ({seconds:.1f} s)")
    for path in args.paths:
        on_fresh_stack({"json": json_path, "csv": csv_path}[path])


if __name__ == "__main__":
    main()
