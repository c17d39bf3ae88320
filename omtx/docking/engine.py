"""The docking engine: one Vina object with its affinity maps, in a child process.

Vina cannot be interrupted or guarded in-process (DOCKING.md §5): a bad ligand string makes it
`exit(1)`, a missing map type likewise, some calls segfault, and a flexible ligand can run for
minutes while ignoring signals. So the Vina object lives in a spawned child that keeps its maps
between ligands (computing them costs 0.5–2 s); the parent waits with a timeout, and a child that
dies or overruns fails only the ligand it was docking and is started again for the next one."""

from __future__ import annotations

import multiprocessing
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from omtx.docking.box import Vec3


class DockingError(RuntimeError):
    """Docking this ligand failed; the message says why."""


@dataclass(frozen=True)
class Docked:
    poses_pdbqt: str
    scores: list[float]  # total kcal/mol per pose, best first
    seconds: float


def _serve(conn: Connection, receptor_path: str, center: Vec3, size: Vec3, seed: int, cpu: int) -> None:
    from vina import Vina

    clock = time.perf_counter()
    try:
        vina = Vina(sf_name="vina", cpu=cpu, seed=seed, verbosity=0)
        vina.set_receptor(rigid_pdbqt_filename=receptor_path)
        # Maps for every atom type, before any ligand: a later ligand with a new type would
        # otherwise make Vina exit the process.
        vina.compute_vina_maps(center=list(center), box_size=list(size))
    except Exception as exc:
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", time.perf_counter() - clock))
    while True:
        try:
            request = conn.recv()
        except EOFError:
            return
        pdbqt, exhaustiveness, n_poses = request
        clock = time.perf_counter()
        try:
            vina.set_ligand_from_string(pdbqt)
            vina.dock(exhaustiveness=exhaustiveness, n_poses=n_poses)
            energies = vina.energies(n_poses=n_poses)
            reply: tuple[Any, ...] = (
                "ok",
                vina.poses(n_poses=n_poses),
                [float(row[0]) for row in energies],
                time.perf_counter() - clock,
            )
        except Exception as exc:
            reply = ("error", f"{type(exc).__name__}: {exc}")
        conn.send(reply)


class DockingEngine:
    """Docks ligands into one receptor and box, maps computed once per child process."""

    def __init__(self, receptor_path: str, center: Vec3, size: Vec3, seed: int, cpu: int = 0) -> None:
        self._args = (receptor_path, center, size, seed, cpu)
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self.starts = 0
        self.map_seconds = 0.0
        self.setup_seconds = 0.0  # process start, imports and maps, over every start

    def _start(self) -> Connection:
        # spawn: the worker holds gRPC channels and threads that must not be forked
        clock = time.perf_counter()
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        process = context.Process(target=_serve, args=(child, *self._args), daemon=True, name="omtx-vina")
        process.start()
        child.close()
        self.starts += 1
        kind, value = self._receive(parent, process, 300.0, "computing affinity maps")
        if kind != "ready":
            process.kill()
            raise DockingError(f"could not set up the receptor and maps: {value}")
        self.map_seconds += value
        self.setup_seconds += time.perf_counter() - clock
        self._process, self._conn = process, parent
        return parent

    @staticmethod
    def _receive(conn: Connection, process: BaseProcess, timeout_s: float, doing: str) -> tuple[Any, ...]:
        if not conn.poll(timeout_s):
            process.kill()
            process.join()
            raise DockingError(f"timed out after {timeout_s:g} s {doing}")
        try:
            message: tuple[Any, ...] = conn.recv()
        except EOFError:
            process.join(5)
            raise DockingError(f"the Vina process died while {doing} (exit code {process.exitcode})") from None
        return message

    def dock(self, pdbqt: str, exhaustiveness: int, n_poses: int, timeout_s: float) -> Docked:
        if not pdbqt.strip():
            # Vina exits the process on an empty ligand (DOCKING.md §5); refuse it here
            raise DockingError("empty ligand PDBQT")
        conn = self._conn if self._conn is not None and self._alive() else self._start()
        assert self._process is not None
        conn.send((pdbqt, exhaustiveness, n_poses))
        try:
            message = self._receive(conn, self._process, timeout_s, "docking")
        except DockingError:
            self._conn = self._process = None  # the next ligand gets a fresh child
            raise
        if message[0] != "ok":
            raise DockingError(message[1])
        _, poses, scores, seconds = message
        if not poses or not scores:
            raise DockingError("Vina returned no poses")
        return Docked(poses_pdbqt=poses, scores=scores, seconds=seconds)

    def _alive(self) -> bool:
        return self._process is not None and self._process.is_alive()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        if self._process is not None:
            self._process.join(2)
            if self._process.is_alive():
                self._process.kill()
        self._conn = self._process = None
