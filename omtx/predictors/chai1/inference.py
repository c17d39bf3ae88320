"""The installed Chai-1, in process: one `run_inference` per ligand, its weights and its warm-up.
Only runnable where chai_lab and a CUDA GPU are (the Modal image); imported lazily."""

from __future__ import annotations

import contextlib
import io
import logging
from dataclasses import dataclass
from pathlib import Path

from omtx.predictors.base import PredictionFailed
from omtx.predictors.chai1.params import Chai1Params

log = logging.getLogger(__name__)

DEVICE = "cuda:0"
# Exported modules run_inference loads (chai_lab/chai1.py::load_exported), from models_v2/.
COMPONENTS = (
    "feature_embedding.pt",
    "bond_loss_input_proj.pt",
    "token_embedder.pt",
    "trunk.pt",
    "diffusion_module.pt",
    "confidence_head.pt",
)
# ESM2-3B, fetched on first use by chai_lab/data/dataset/embeddings/esm.py.
ESM_FILE = "esm/traced_sdpa_esm2_t36_3B_UR50D_fp16.pt"


@dataclass(frozen=True)
class ChaiRun:
    """One ligand's call: its FASTA, an output directory that does not exist yet, the shared MSA
    directory (None: single-sequence mode) and the parameters."""

    fasta: Path
    output_dir: Path
    msa_directory: Path | None
    params: Chai1Params


def is_out_of_memory(exc: BaseException) -> bool:
    """torch.cuda.OutOfMemoryError is a RuntimeError saying "CUDA out of memory"."""
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc)


def run_inference(run: ChaiRun) -> str:
    """Runs Chai-1 on one complex and returns what it printed and logged. A failure that
    belongs to this ligand (too many tokens, out of memory, any error of the call) is raised as
    PredictionFailed, so the chunk goes on with the next ligand."""
    import torch
    from chai_lab.chai1 import run_inference as chai_run_inference

    output = io.StringIO()
    handler = logging.StreamHandler(output)
    handler.setLevel(logging.INFO)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with contextlib.redirect_stdout(output):
            chai_run_inference(
                fasta_file=run.fasta,
                output_dir=run.output_dir,
                use_esm_embeddings=run.params.use_esm_embeddings,
                msa_directory=run.msa_directory,
                num_trunk_recycles=run.params.num_trunk_recycles,
                num_diffn_timesteps=run.params.num_diffn_timesteps,
                num_diffn_samples=run.params.num_diffn_samples,
                seed=run.params.seed,
                device=DEVICE,
                low_memory=True,
            )
    except Exception as exc:
        log.exception("chai1: run_inference failed for %s", run.fasta)
        if is_out_of_memory(exc):
            torch.cuda.empty_cache()
            raise PredictionFailed("Chai-1 ran out of GPU memory on this complex") from exc
        raise PredictionFailed(f"Chai-1 failed: {type(exc).__name__}: {exc}") from exc
    finally:
        root.removeHandler(handler)
    return output.getvalue()


def missing_weights(downloads: Path) -> list[str]:
    """What of CHAI_DOWNLOADS_DIR is not there yet (paths as chai_lab/utils/paths.py lays them out)."""
    wanted = [f"models_v2/{name}" for name in COMPONENTS] + ["conformers_v1.apkl", ESM_FILE]
    return [name for name in wanted if not (downloads / name).is_file()]


def download_weights() -> list[Path]:
    """Everything Chai-1 fetches lazily, fetched now into CHAI_DOWNLOADS_DIR (B.1)."""
    from chai_lab.data.dataset.embeddings.esm import ESM_URL
    from chai_lab.utils.paths import cached_conformers, chai1_component, download_if_not_exists, downloads_path

    paths = [chai1_component(name) for name in COMPONENTS]
    paths.append(cached_conformers.get_path())
    esm = Path(downloads_path) / ESM_FILE
    download_if_not_exists(ESM_URL, esm)
    paths.append(esm)
    return paths


def warm_up() -> None:
    """Loads ESM2-3B once per process: chai_lab keeps it between calls, while the other modules
    are read again per call (fast from the page cache, per its maintainers, B.5)."""
    import torch
    from chai_lab.data.dataset.embeddings.esm import esm_model

    with esm_model(torch.device(DEVICE)):
        pass
