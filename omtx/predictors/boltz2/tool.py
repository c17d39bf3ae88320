"""The installed Boltz-2: where it is, how a run is started and stopped, its MSA search and its
weights. Thin wrappers over subprocesses; only runnable where boltz is installed."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from omtx.predictors.msa_cache import COLABFOLD_URL

SIDECAR = Path(__file__).with_name("sidecar.py")
# What a Boltz-2 cache must hold before a run, or `boltz predict` downloads it first (A.7).
WEIGHT_FILES = ("boltz2_conf.ckpt", "boltz2_aff.ckpt", "mols")
MSA_TIMEOUT_S = 1800


def executable() -> str:
    found = shutil.which("boltz")
    if found is None:
        raise FileNotFoundError("the `boltz` command is not installed here (boltz[cuda]==2.2.1)")
    return found


def tool_python(boltz: str) -> Path:
    """The interpreter of Boltz's own environment: beside the real `boltz` script. Not resolved
    itself: a virtualenv's python is a symlink that only works under its own path."""
    return Path(boltz).resolve().parent / "python"


class ToolProcess:
    """A `boltz predict` run in its own process group, so stopping it also stops the
    preprocessing pool and data-loader workers it forks."""

    def __init__(self, command: Sequence[str], log_path: Path) -> None:
        with log_path.open("wb") as log:
            self._popen = subprocess.Popen(
                list(command), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
            )

    def poll(self) -> int | None:
        return self._popen.poll()

    def kill(self) -> None:
        if self._popen.poll() is None:
            os.killpg(self._popen.pid, signal.SIGKILL)
            self._popen.wait()


def launch(command: Sequence[str], log_path: Path) -> ToolProcess:
    return ToolProcess(command, log_path)


def colabfold_a3m(sequence: str, server_url: str = COLABFOLD_URL) -> bytes:
    """One ColabFold search for one protein, through Boltz's own client."""
    with tempfile.TemporaryDirectory(prefix="boltz2-msa-") as tmp:
        out = Path(tmp) / "query.a3m"
        result = subprocess.run(
            [str(tool_python(executable())), str(SIDECAR), "msa", sequence, str(out), server_url],
            capture_output=True,
            text=True,
            timeout=MSA_TIMEOUT_S,
        )
        if result.returncode != 0 or not out.is_file():
            tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
            raise RuntimeError(f"ColabFold MSA search failed (exit {result.returncode}): {tail[0]}")
        return out.read_bytes()


def missing_weights(cache: Path) -> list[str]:
    return [name for name in WEIGHT_FILES if not (cache / name).exists()]


def download_weights(cache: Path) -> None:
    subprocess.run([str(tool_python(executable())), str(SIDECAR), "weights", str(cache)], check=True)
