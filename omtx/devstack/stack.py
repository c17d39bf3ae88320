"""`omtx dev up|down|status|restart|reset`: the whole local stack, health-checked, logs in one
folder. The stack is where a user's batches live, so it never loses data by being restarted: `up`
starts only what is not running, `down` snapshots Firestore first, GCS objects stay on disk, and
`reset` is the one command that wipes."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from pydantic import SecretStr

from omtx.devstack import processes as proc
from omtx.devstack import snapshots
from omtx.devstack.chaos import STATS_PATH, ChaosConfig
from omtx.devstack.emulators import EMULATORS, StackError, emulator_specs
from omtx.devstack.provision import provision
from omtx.domain import utcnow
from omtx.gcp.clients import reset_clients
from omtx.gcp.firestore import message_loss
from omtx.settings import SERVICES, Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
# Pub/Sub before fake-gcs-server (it publishes bucket notifications); the services after the
# emulators they talk to.
START_ORDER = ("pubsub", "firestore", *SERVICES, "scheduler", "chaos", "gcs")
SIGNATURES = {"submit": "http", "dispatch": "cloudevent", "complete": "cloudevent", "aggregate": "cloudevent"}


@dataclass
class ProcessStatus:
    name: str
    pid: int | None
    port: int | None
    alive: bool
    listening: bool
    log: str


class Stack:
    """The local stack. With `chaos`, every push subscription and the Firestore trigger deliver
    through the chaos proxy (omtx/devstack/chaos.py), which duplicates, delays and reorders."""

    def __init__(self, settings: Settings, chaos: ChaosConfig | None = None) -> None:
        self.settings = settings
        self.chaos = chaos
        self.state_dir = settings.state_dir.resolve()
        self.log_dir = self.state_dir / "logs"
        self.state_file = self.state_dir / "stack.json"
        self.gcs_root = self.state_dir / "gcs-data"

    # --- what runs ------------------------------------------------------------------------------

    def specs(self) -> list[proc.ProcessSpec]:
        s = self.settings
        host = s.host
        emulators = s.emulator_env()
        service_env = (
            emulators
            | {
                f"OMTX_{name.upper()}": _env_value(getattr(s, name))
                for name in type(s).model_fields
                if name not in {"gcloud_sdk_root", "api_url"} and getattr(s, name) is not None
            }
            | {"PYTHONUNBUFFERED": "1", "THREADS": "8"}
        )
        specs = emulator_specs(s, self.state_dir, self.gcs_root, self.push_port("aggregate"))
        for service in SERVICES:
            port = s.service_port(service)
            specs.append(
                proc.ProcessSpec(
                    service,
                    [
                        sys.executable,
                        "-m",
                        "functions_framework",
                        "--source",
                        str(REPO_ROOT / "services" / service / "main.py"),
                        "--target",
                        service,
                        "--signature-type",
                        SIGNATURES[service],
                        "--host",
                        host,
                        "--port",
                        str(port),
                    ],
                    port,
                    f"http://{host}:{port}/healthz" if service == "submit" else None,
                    # The API is read-heavy and the GIL binds one process to one core.
                    service_env | ({"WORKERS": "2"} if service == "submit" else {}),
                )
            )
        specs.append(
            proc.ProcessSpec(
                "scheduler",
                [
                    sys.executable,
                    "-m",
                    "omtx.devstack.scheduler",
                    f"{s.api_base_url}/internal/reconcile",
                    "--interval",
                    str(s.reconcile_interval_s),
                    f"--snapshot-every={s.snapshot_interval_s}",
                    f"--state-dir={self.state_dir}",
                    f"--firestore={emulators['FIRESTORE_EMULATOR_HOST']}",
                    f"--project={s.project}",
                ],
                None,
            )
        )
        if self.chaos is not None:
            specs.append(self._chaos_spec(self.chaos))
        return specs

    def push_port(self, service: str) -> int:
        """Where the emulators deliver to `service`: the service itself, or its chaos proxy."""
        if self.chaos is None:
            return self.settings.service_port(service)
        return self.settings.base_port + 20 + SERVICES.index(service)

    def _chaos_spec(self, chaos: ChaosConfig) -> proc.ProcessSpec:
        s = self.settings
        routes = [
            # The Firestore emulator never retries an event: the proxy answers it and delivers later.
            f"{name}={self.push_port(name)}={s.service_port(name)}{':async' if name == 'aggregate' else ''}"
            for name in SERVICES
        ]
        argv = [sys.executable, "-m", "omtx.devstack.chaos", "--host", s.host]
        argv += [f"--route={r}" for r in routes]
        argv += [
            f"--duplicate={chaos.duplicate}",
            f"--delay={chaos.delay}",
            f"--max-delay={chaos.max_delay_s}",
            f"--seed={chaos.seed}",
            f"--forward-timeout={s.push_ack_deadline_s}",
        ]
        port = self.push_port(SERVICES[0])
        return proc.ProcessSpec("chaos", argv, port, f"http://{s.host}:{port}{STATS_PATH}")

    # --- commands -------------------------------------------------------------------------------

    def up(self, timeout_s: float = 60.0) -> float:
        """Start whatever is not running and healthy, in dependency order, leaving healthy
        processes and every stored object alone; returns the seconds it took (0: all was up)."""
        started_at = time.monotonic()
        specs = {spec.name: spec for spec in self.specs()}
        known = {r.name: r for r in self.running() if r.name in specs}
        healthy = {
            name for name, r in known.items() if proc.alive(r.pid) and proc.healthy(self.settings.host, specs[name])
        }
        if healthy == set(specs):
            self._use_emulators()
            return 0.0
        for name, item in known.items():
            if name not in healthy:  # a hung process or a dead one's orphans: its group goes first
                proc.stop_group(item.pid)
                if item.port is not None:
                    proc.wait_port_free(self.settings.host, item.port)
        missing = [n for n in START_ORDER if n in specs and n not in healthy]
        busy = [f"{n}:{port}" for n in missing if (port := specs[n].port) and proc.port_open(self.settings.host, port)]
        if busy:
            raise StackError(f"ports already in use: {', '.join(busy)} (another stack? set OMTX_BASE_PORT)")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.gcs_root.mkdir(parents=True, exist_ok=True)
        running = {name: known[name] for name in healthy}
        messaging_since = utcnow()  # a Pub/Sub emulator started now holds no earlier message
        try:
            for name in missing:
                if name == "gcs":  # fake-gcs-server publishes bucket notifications: Pub/Sub first
                    self._wait_healthy([specs["pubsub"]], list(running.values()), started_at + timeout_s)
                running[name] = proc.start(specs[name], self.log_dir, REPO_ROOT)
                proc.save_state(self.state_file, list(running.values()))
            self._wait_healthy([specs[n] for n in missing], list(running.values()), started_at + timeout_s)
            self._use_emulators()
            # Idempotent; a restarted Pub/Sub emulator has lost its topics and subscriptions.
            provision(self.settings, self.push_port)
            if "pubsub" in missing:
                # ... and every message in flight: the reconciler re-publishes now, not after a grace.
                message_loss.mark_messages_lost(messaging_since)
        except BaseException:
            for name in missing:
                if name in running:
                    proc.stop_group(running.pop(name).pid)
            proc.save_state(self.state_file, list(running.values()))
            raise
        return time.monotonic() - started_at

    def down(self, snapshot: bool = True) -> list[str]:
        """Stop every process; Firestore's documents are snapshotted first, so `up` brings them
        back (objects stay on disk anyway)."""
        known = {r.name: r for r in self.running()}
        if snapshot and "firestore" in known and proc.alive(known["firestore"].pid):
            try:
                snapshots.take(
                    self.state_dir, self.settings.emulator_env()["FIRESTORE_EMULATOR_HOST"], self.settings.project
                )
            except (OSError, requests.RequestException, StopIteration) as exc:
                raise StackError(
                    f"nothing was stopped: the Firestore snapshot failed ({exc}); `omtx dev down --no-snapshot` "
                    "stops anyway and keeps the previous snapshot"
                ) from exc
        stopped = []
        for item in known.values():
            proc.stop_group(item.pid)
            if item.port is not None:
                proc.wait_port_free(self.settings.host, item.port)
            stopped.append(item.name)
        if self.state_file.exists():
            self.state_file.unlink()
        return stopped

    def reset(self) -> list[str]:
        """The one way to wipe the local stack: stop it and delete its documents and objects."""
        stopped = self.down(snapshot=False)
        snapshots.wipe(self.state_dir)
        shutil.rmtree(self.gcs_root, ignore_errors=True)
        return stopped

    def status(self) -> list[ProcessStatus]:
        known = {r.name: r for r in self.running()}
        rows = []
        for spec in self.specs():
            item = known.get(spec.name)
            rows.append(
                ProcessStatus(
                    name=spec.name,
                    pid=item.pid if item else None,
                    port=spec.port,
                    alive=(alive := bool(item and proc.alive(item.pid))),
                    listening=proc.healthy(self.settings.host, spec) if spec.port else alive,
                    log=item.log if item else str(self.log_dir / f"{spec.name}.log"),
                )
            )
        return rows

    def running(self) -> list[proc.Running]:
        return proc.load_state(self.state_file)

    # --- faults (the fault suite) ---------------------------------------------------------------

    def kill(self, name: str) -> int:
        """kill -9 a process and its whole group (a service and its executor's workers), as a
        crashed instance goes: no shutdown handler runs. Returns the pid that died."""
        item = self._running(name)
        proc.kill_group(item.pid)
        if item.port is not None:
            proc.wait_port_free(self.settings.host, item.port)
        return item.pid

    def restart(self, name: str, env: dict[str, str] | None = None, timeout_s: float = 60.0) -> float:
        """Start a process again (stopping it first if it runs), with extra environment; returns
        the seconds until it is healthy."""
        started_at = time.monotonic()
        specs = {s.name: s for s in self.specs()}
        if name not in specs:
            raise StackError(f"no process {name!r}; the stack has {', '.join(specs)}")
        spec = dataclasses.replace(specs[name], env=specs[name].env | (env or {}))
        old = self._running(name)
        proc.stop_group(old.pid)
        if spec.port is not None:
            proc.wait_port_free(self.settings.host, spec.port)
        messaging_since = utcnow()
        running = [proc.start(spec, self.log_dir, REPO_ROOT) if r.name == name else r for r in self.running()]
        proc.save_state(self.state_file, running)
        self._wait_healthy([spec], running, started_at + timeout_s)
        if name in EMULATORS:  # a restarted emulator starts empty of topics, triggers or buckets
            self._use_emulators()
            provision(self.settings, self.push_port)
            if name == "pubsub":
                message_loss.mark_messages_lost(messaging_since)
        return time.monotonic() - started_at

    def kill_workers(self, name: str) -> list[int]:
        """kill -9 the process-pool workers of a service (the local executor's, in dispatch);
        the service itself lives on. Returns their pids."""
        pids = proc.pool_workers(self._running(name).pid)
        for pid in pids:
            proc.kill_process(pid)
        return pids

    def _running(self, name: str) -> proc.Running:
        found = [r for r in self.running() if r.name == name]
        if not found:
            raise StackError(f"{name} is not part of the running stack")
        return found[0]

    # --- helpers --------------------------------------------------------------------------------

    def _wait_healthy(self, specs: list[proc.ProcessSpec], running: list[proc.Running], deadline: float) -> None:
        pending = list(specs)
        by_name = {r.name: r for r in running}
        while pending:
            for spec in list(pending):
                item = by_name[spec.name]
                if not proc.alive(item.pid):
                    raise StackError(f"{spec.name} exited during start-up; see {item.log}")
                if proc.healthy(self.settings.host, spec):
                    pending.remove(spec)
            if pending and time.monotonic() > deadline:
                names = ", ".join(f"{s.name} (log {by_name[s.name].log})" for s in pending)
                raise StackError(f"not healthy in time: {names}")
            time.sleep(0.1)

    def _use_emulators(self) -> None:
        """Point this process's clients at the stack."""
        os.environ.update(self.settings.emulator_env())
        reset_clients()


def _env_value(value: Any) -> str:
    """How pydantic-settings reads a value back: JSON for mappings and lists, the secret itself."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)
