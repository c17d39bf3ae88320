"""Starting, probing and stopping local processes. Each runs in its own process group so that
stopping it also stops children (the emulators' Java processes)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import requests


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: list[str]
    port: int | None  # None: a process that serves nothing (alive is healthy)
    health_url: str | None = None  # None: a listening port is healthy enough
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class Running:
    name: str
    pid: int
    port: int | None
    log: str


def port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def healthy(host: str, spec: ProcessSpec) -> bool:
    if spec.port is None:
        return True
    if spec.health_url is None:
        return port_open(host, spec.port)
    try:
        return requests.get(spec.health_url, timeout=1).status_code < 500
    except requests.RequestException:
        return False


def start(spec: ProcessSpec, log_dir: Path, cwd: Path) -> Running:
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{spec.name}.log"
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            spec.argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            env=os.environ | spec.env,
            start_new_session=True,  # its own process group: killpg reaches the Java child too
        )
    return Running(name=spec.name, pid=proc.pid, port=spec.port, log=str(log_path))


def alive(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_group(pid: int, grace_s: float = 5.0) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            _reap(pid)
            if not alive(pid):
                return
            time.sleep(0.05)


def kill_group(pid: int, timeout_s: float = 10.0) -> None:
    """SIGKILL, no grace: what an out-of-memory kill or a lost machine does."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout_s
    while alive(pid) and time.monotonic() < deadline:
        _reap(pid)
        time.sleep(0.02)


def kill_process(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def pool_workers(pgid: int) -> list[int]:
    """multiprocessing spawn workers in a process group (they share their parent's group)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue  # exited while we looked
        pid = int(stat.parent.name)
        # field 5 of /proc/pid/stat is the process group; spawn workers run multiprocessing.spawn
        if int(fields[2]) == pgid and pid != pgid and b"spawn_main" in cmdline:
            found.append(pid)
    return sorted(found)


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def wait_port_free(host: str, port: int, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not port_open(host, port):
            return True
        time.sleep(0.05)
    return False


def save_state(path: Path, running: list[Running]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([asdict(r) for r in running], indent=2))


def load_state(path: Path) -> list[Running]:
    if not path.exists():
        return []
    return [Running(**item) for item in json.loads(path.read_text())]
