"""Run by the Python of Boltz-2's own environment, never imported by the platform.

Boltz 2.2.1 pins wandb 0.18.7, which needs protobuf < 6, while the platform's Pub/Sub client
needs protobuf >= 6.33: they cannot share one environment, so the Modal image installs Boltz in
its own virtualenv and the platform reaches it through the CLI and this script. It imports only
the standard library and boltz.

    python sidecar.py msa <sequence> <out.a3m> <server url>
    python sidecar.py weights <cache dir>
"""

import sys
import tempfile
from pathlib import Path


def msa(sequence: str, out: Path, server_url: str) -> None:
    """One unpaired ColabFold search (UniRef + environmental), as `boltz predict
    --use_msa_server` runs it for a single protein chain, written as A3M."""
    from boltz.data.msa.mmseqs2 import run_mmseqs2

    with tempfile.TemporaryDirectory() as tmp:
        a3m = run_mmseqs2([sequence], str(Path(tmp) / "msa"), use_env=True, use_pairing=False, host_url=server_url)
    out.write_text(a3m[0])


def weights(cache: Path) -> None:
    """Boltz-2's checkpoints and CCD molecules, downloaded (and mols.tar extracted) if absent."""
    from boltz.main import download_boltz2

    cache.mkdir(parents=True, exist_ok=True)
    download_boltz2(cache)


if __name__ == "__main__":
    # Python puts this script's folder first on the path; its neighbours (inputs.py, msa.py, …)
    # are the platform's modules and must not shadow a top-level module that boltz imports.
    if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
        sys.path.pop(0)
    command, *args = sys.argv[1:]
    if command == "msa":
        msa(args[0], Path(args[1]), args[2])
    elif command == "weights":
        weights(Path(args[0]))
    else:
        sys.exit(f"unknown command {command!r}")
