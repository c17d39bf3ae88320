"""Snapshots of the local Firestore emulator, so the stack's data survives `omtx dev down` /
`dev up` and a reboot. The emulator's own `--export-on-exit` runs only on a clean exit (a
SIGTERM to its process group skips it, measured), so the stack exports through the emulator's
REST export instead: on `dev down`, and every `snapshot_interval_s` from the scheduler process.
`dev up` starts the emulator with `--import-data` of the newest complete snapshot; GCS objects
live on disk in the state folder already, and Pub/Sub topics are provisioned again."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import requests

ROOT = "firestore-data"
LATEST = "LATEST"


def root(state_dir: Path) -> Path:
    return state_dir / ROOT


def latest(state_dir: Path) -> Path | None:
    """The metadata file of the newest complete snapshot, or None."""
    pointer = root(state_dir) / LATEST
    if not pointer.exists():
        return None
    metadata = Path(pointer.read_text().strip())
    return metadata if metadata.exists() else None


def take(state_dir: Path, firestore: str, project: str, timeout_s: float = 120.0) -> Path:
    """Export every document now; returns the snapshot's metadata file. The pointer moves only
    after the export finished, so a crash mid-export leaves the previous snapshot in force."""
    target = root(state_dir) / f"{time.time_ns()}"
    target.mkdir(parents=True)
    response = requests.post(
        f"http://{firestore}/emulator/v1/projects/{project}:export",
        json={"database": f"projects/{project}/databases/(default)", "export_directory": str(target)},
        timeout=timeout_s,
    )
    response.raise_for_status()
    metadata = next(target.glob("*/*.overall_export_metadata"))
    pointer = root(state_dir) / LATEST
    staged = pointer.with_suffix(".tmp")
    staged.write_text(str(metadata))
    staged.replace(pointer)
    for old in root(state_dir).iterdir():
        if old.is_dir() and old != target:
            shutil.rmtree(old, ignore_errors=True)
    return metadata


def wipe(state_dir: Path) -> None:
    shutil.rmtree(root(state_dir), ignore_errors=True)
