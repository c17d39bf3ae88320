"""The three RFantibody commands of one design job, as argument lists. Pure functions.

They call the repository's documented CLI entry points (pyproject `[project.scripts]`:
`rfantibody.cli.inference:rfdiffusion|proteinmpnn|rf2`), which wrap
`scripts/rfdiffusion_inference.py` (Hydra, `--config-name antibody`),
`scripts/proteinmpnn_interface_design.py` (argparse) and `scripts/rf2_predict.py` (Hydra). The
flags below are those wrappers' click options at the pinned commit. Every step reads and writes a
Quiver file (one text file of tagged PDBs with `QV_SCORE` lines), so a job is three files.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from omtx.predictors.rfantibody.params import RfantibodyParams

RFANTIBODY_REPO = "https://github.com/RosettaCommons/RFantibody.git"
RFANTIBODY_COMMIT = "8fe311415754e0276d1a39c87c57e69c88927a2d"  # 2026-03-04, the commit MODELS.md read

# include/download_weights.sh; the CLIs look for these names in $RFANTIBODY_WEIGHTS.
WEIGHT_FILES = {
    "rfdiffusion": "RFdiffusion_Ab.pt",
    "proteinmpnn": "ProteinMPNN_v48_noise_0.2.pt",
    "rf2": "RF2_ab.pt",
}
WEIGHTS_URL = "https://files.ipd.uw.edu/pub/RFantibody/"
BUILTIN_FRAMEWORKS = {
    "nanobody": "scripts/examples/example_inputs/h-NbBCII10.pdb",
    "scfv": "scripts/examples/example_inputs/hu-4D5-8_Fv.pdb",
}


@dataclass(frozen=True)
class Install:
    """Where RFantibody lives: its checkout (with the `uv sync` virtualenv in .venv) and weights.
    None means "as the environment has it": tools on PATH, weights where the CLIs look."""

    root: Path | None = None
    weights: Path | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Install:
        # RFantibody's own variables (src/rfantibody/config.py); the Modal image sets both.
        root, weights = env.get("RFANTIBODY_ROOT"), env.get("RFANTIBODY_WEIGHTS")
        return cls(Path(root) if root else None, Path(weights) if weights else None)

    def tool(self, name: str) -> str:
        return str(self.root / ".venv" / "bin" / name) if self.root else name

    def weight(self, step: str) -> list[str]:
        return ["--weights", str(self.weights / WEIGHT_FILES[step])] if self.weights else []

    def framework(self, name: str) -> Path:
        return (self.root or Path(".")) / BUILTIN_FRAMEWORKS[name]


@dataclass(frozen=True)
class Layout:
    """One job's working directory; the Quiver names follow the README's pipeline example."""

    workdir: Path

    @property
    def target(self) -> Path:
        return self.workdir / "inputs" / "target.pdb"

    @property
    def framework(self) -> Path:
        return self.workdir / "inputs" / "framework.pdb"

    @property
    def backbones(self) -> Path:
        return self.workdir / "1_rfdiffusion.qv"

    @property
    def sequences(self) -> Path:
        return self.workdir / "2_proteinmpnn.qv"

    @property
    def predictions(self) -> Path:
        return self.workdir / "3_rf2.qv"


def rfdiffusion_command(
    params: RfantibodyParams, install: Install, layout: Layout, framework: Path, design_startnum: int
) -> list[str]:
    """Backbones and docks. Tags are `samples_design_<n>` (the script's default output prefix with
    `/` made `_`), n counting from design_startnum: jobs of one campaign get distinct tags, and with
    --deterministic distinct seeds (the script seeds each design with its number)."""
    argv = [
        install.tool("rfdiffusion"),
        "--target", str(layout.target),
        "--framework", str(framework),
        "--output-quiver", str(layout.backbones),
        "--num-designs", str(params.num_designs),
        "--design-loops", params.design_loops or "",
        "--hotspots", params.hotspots,
        "--diffuser-t", str(params.diffuser_t),
        # the per-step trajectory Quivers are large and nothing reads them
        "--no-trajectory",
        *install.weight("rfdiffusion"),
        "--extra", f"inference.design_startnum={design_startnum}",
    ]  # fmt: skip
    if params.deterministic:
        argv.append("--deterministic")
    return argv


def proteinmpnn_command(params: RfantibodyParams, install: Install, layout: Layout) -> list[str]:
    """CDR sequences. Output tags are `<backbone>_dldesign_<i>`, i < seqs_per_struct. Only the
    designed loops are redesigned: loops left out of design_loops keep their framework sequence."""
    argv = [
        install.tool("proteinmpnn"),
        "--input-quiver", str(layout.backbones),
        "--output-quiver", str(layout.sequences),
        "--loops", ",".join(loop.name for loop in params.loops),
        "--seqs-per-struct", str(params.seqs_per_struct),
        "--temperature", str(params.mpnn_temperature),
        *install.weight("proteinmpnn"),
    ]  # fmt: skip
    if params.deterministic:
        argv.append("--deterministic")
    return argv


def rf2_command(params: RfantibodyParams, install: Install, layout: Layout) -> list[str]:
    """Re-prediction and scores. Output tags are `<sequence>_best` (the recycle with the highest
    mean pLDDT), each with a `QV_SCORE` line of the metrics in model_runner.py."""
    argv = [
        install.tool("rf2"),
        "--input-quiver", str(layout.sequences),
        "--output-quiver", str(layout.predictions),
        "--num-recycles", str(params.num_recycles),
        "--hotspot-show-prop", str(params.hotspot_show_prop),
        *install.weight("rf2"),
    ]  # fmt: skip
    if params.rf2_seed is not None:
        argv += ["--seed", str(params.rf2_seed)]
    return argv


def tool_env(install: Install, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The CLI wrappers start their scripts as a bare `python` in the checkout, so the checkout's
    virtualenv must come first on PATH, for the tools only: the worker itself runs another Python."""
    env = dict(os.environ if base is None else base)
    if install.root is not None:
        env["PATH"] = f"{install.root / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env["RFANTIBODY_ROOT"] = str(install.root)
    if install.weights is not None:
        env["RFANTIBODY_WEIGHTS"] = str(install.weights)
    return env
