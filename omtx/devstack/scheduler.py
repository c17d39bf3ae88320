"""The local stack's Cloud Scheduler: POSTs to a URL every N seconds, forever; with
--snapshot-every, it also snapshots the Firestore emulator (omtx/devstack/snapshots.py)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import requests

from omtx.devstack import snapshots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--interval", type=float, required=True)
    parser.add_argument("--snapshot-every", type=float, help="seconds between Firestore snapshots")
    parser.add_argument("--state-dir", type=Path)
    parser.add_argument("--firestore", help="host:port of the Firestore emulator")
    parser.add_argument("--project")
    args = parser.parse_args()
    snapshot_due = time.monotonic() + (args.snapshot_every or 0)
    while True:
        time.sleep(args.interval)
        try:
            response = requests.post(args.url, timeout=300)
            print(response.status_code, response.text[:500], flush=True)
            if args.snapshot_every and time.monotonic() >= snapshot_due:
                print(f"snapshot {snapshots.take(args.state_dir, args.firestore, args.project)}", flush=True)
                snapshot_due = time.monotonic() + args.snapshot_every
        except (requests.RequestException, OSError) as exc:  # a process restarting; try again next tick
            print(f"scheduler: {exc}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
