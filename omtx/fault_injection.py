"""Worker crashes on purpose, for the fault suite (tests/integration/test_faults.py).

A worker process can die at any moment without a word: an out-of-memory kill, a preempted machine,
a native library that aborts. With OMTX_FAULT_WORKER_CRASH set to a probability, each work order
arms a timer that, with that probability, ends the process with os._exit(1) at a random moment
within OMTX_FAULT_WORKER_CRASH_WITHIN_S seconds: while the order runs (some of its ligands stored
and reported, others not) or, if it was quick, while the process waits for the next one. No
exception, no clean-up, nothing reported. Unset (everywhere but the fault suite), nothing happens.
Standard library only: the Modal image imports it through omtx.worker."""

from __future__ import annotations

import os
import random
import sys
import threading

CRASH_ENV = "OMTX_FAULT_WORKER_CRASH"
WITHIN_ENV = "OMTX_FAULT_WORKER_CRASH_WITHIN_S"
CRASH_LINE = "fault injection: worker process {pid} crashes now"


def arm_worker_crash() -> None:
    probability = float(os.environ.get(CRASH_ENV) or 0)
    if probability <= 0 or random.random() >= probability:
        return
    within_s = float(os.environ.get(WITHIN_ENV) or 2.0)
    timer = threading.Timer(random.uniform(0, within_s), _crash)
    timer.daemon = True
    timer.start()


def _crash() -> None:
    # One line on stderr (the service's log in the local stack) so the suite can count crashes.
    print(CRASH_LINE.format(pid=os.getpid()), file=sys.stderr, flush=True)
    os._exit(1)
