"""The local stack's Cloud Scheduler: POSTs to a URL every N seconds, forever."""

from __future__ import annotations

import argparse
import sys
import time

import requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--interval", type=float, required=True)
    args = parser.parse_args()
    while True:
        time.sleep(args.interval)
        try:
            response = requests.post(args.url, timeout=300)
            print(response.status_code, response.text[:500], flush=True)
        except requests.RequestException as exc:  # the service restarting; try again next tick
            print(f"scheduler: {exc}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
