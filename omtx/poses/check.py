"""PoseBusters on predicted poses: which checks each pose passes, and the job's verdict.

The checks are PoseBusters' "redock" set without the RMSD to a crystal pose (there is none) and
without the cofactor and water tests (the platform's complexes hold one protein and one ligand):
sanitisation, connectivity, radicals; identity with the input (formula, bonds, tetrahedral and
double-bond stereo, see stereo.py); bond lengths, angles and internal clashes against
distance-geometry bounds; aromatic-ring and double-bond flatness, non-flat saturated rings; the
internal energy against an ensemble of 50 conformers (the full set only); the distance to the
protein, the clash with it and the volume overlap.

The energy test is the costly part of the full set; the cheap set is everything else. The issue
asked for the cheap set on every pose and the full set on the top poses only if the full set
more than doubled a docking job; benchmarks/pose_checks.py measures it at 0–8 % of a job at
Vina's defaults (18- to 41-heavy-atom ligands), so every pose gets the full set. `full_poses`
limits it to the top poses should that ever change."""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Sequence
from functools import cache, partial
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from omtx.poses import stereo
from omtx.poses.structure import ProteinAtoms, StructureProblem, split_chains, split_complex

if TYPE_CHECKING:
    from rdkit import Chem

log = logging.getLogger(__name__)

# How many top poses get the full set (None: every pose), see the module docstring.
FULL_CHECK_POSES: int | None = None
# RFantibody's naming: heavy and light chains are the design, the other chains the target.
ANTIBODY_CHAINS = frozenset({"H", "L"})
Level = Literal["full", "cheap", "interface"]


class PoseCheck(BaseModel):
    """Per pose, best first: whether it passed every check, and the names of those it failed."""

    valid: list[bool] = Field(default_factory=list)
    failed: list[list[str]] = Field(default_factory=list)
    level: list[Level] = Field(default_factory=list)
    seconds: float = 0.0
    note: str | None = None  # what the checks could not see for themselves

    def metrics(self) -> dict[str, Any]:
        """The job's metrics: the verdict on its best pose, and how many of its poses pass."""
        return {
            "pb_valid": bool(self.valid and self.valid[0]),
            "pb_failed": self.failed[0] if self.failed else ["not_checked"],
            "pb_valid_poses": sum(self.valid),
            "pb_poses_checked": len(self.valid),
        }

    def raw(self) -> dict[str, Any]:
        return {"posebusters": self.model_dump(exclude_defaults=True) | {"version": _version()}}


def check_poses(
    poses: Sequence[Chem.Mol], smiles: str, protein: ProteinAtoms, full_poses: int | None = FULL_CHECK_POSES
) -> PoseCheck:
    """Every pose of one ligand against its input SMILES and the protein it was placed in. A
    pose that fails is reported, never dropped; a check that cannot run counts as failed."""
    import numpy as np
    from rdkit import rdBase

    clock = time.perf_counter()
    if not poses:
        return PoseCheck(note="no poses to check")
    poses = [single_conformer(pose) for pose in poses]
    # RDKit's C++ warnings (template matching, sanitising) are the checks' business, not the log's
    try:
        with rdBase.BlockLogs():
            pocket = protein.around(np.concatenate([pose.GetConformer().GetPositions() for pose in poses]))
            rows: list[tuple[Chem.Mol, Chem.Mol | None, Chem.Mol, Level]] = [
                (
                    pose,
                    stereo.reference(smiles, pose),
                    pocket,
                    "full" if full_poses is None or rank < full_poses else "cheap",
                )
                for rank, pose in enumerate(poses)
            ]
            result = _bust(rows)
    except Exception as exc:  # the checker itself broke: the poses stand, unconfirmed
        log.warning("PoseBusters failed on %s: %s", smiles, exc, exc_info=True)
        result = _unchecked(len(poses), "posebusters_error", f"PoseBusters failed: {type(exc).__name__}: {exc}")
    return result.model_copy(update={"seconds": round(time.perf_counter() - clock, 3)})


def check_structure(
    text: str,
    smiles: str | None,
    partner: Literal["ligand", "protein"] = "ligand",
    full_poses: int | None = FULL_CHECK_POSES,
) -> PoseCheck:
    """A predicted complex file (PDB or mmCIF). `ligand`: its hetero residues are the ligand,
    checked like a docking pose with its bond orders taken from `smiles`. `protein`: a designed
    binder (chains H and L) against its target, where only the interface checks apply."""
    from rdkit import rdBase

    clock = time.perf_counter()
    try:
        with rdBase.BlockLogs():
            if partner == "protein":
                target, binder = split_chains(text, ANTIBODY_CHAINS)
                result = _bust([(binder, None, target.around(binder.GetConformer().GetPositions()), "interface")])
            else:
                assert smiles is not None, "a ligand's pose is checked against its SMILES"
                complex_ = split_complex(text, smiles)
                result = check_poses([complex_.ligand], smiles, complex_.protein, full_poses)
                if not complex_.bond_orders_from_input:
                    result.note = "the predicted ligand's atoms do not form the input molecule (bonds from distances)"
    except StructureProblem as exc:
        result = _unchecked(1, "structure_readable", str(exc))
    except Exception as exc:
        log.warning("PoseBusters failed on a %s complex: %s", partner, exc, exc_info=True)
        result = _unchecked(1, "posebusters_error", f"PoseBusters failed: {type(exc).__name__}: {exc}")
    return result.model_copy(update={"seconds": round(time.perf_counter() - clock, 3)})


def single_conformer(pose: Chem.Mol) -> Chem.Mol:
    """The pose's (first) conformer as conformer 0. Poses split from one multi-conformer molecule
    (meeko's) keep their conformer ids, and PoseBusters' energy test reads conformer 0: any other
    id fails it with "Bad Conformer Id"."""
    from rdkit import Chem

    copy = Chem.Mol(pose, confId=pose.GetConformer().GetId()) if pose.GetNumConformers() else Chem.Mol(pose)
    if copy.GetNumConformers():
        copy.GetConformer().SetId(0)
    return copy


def _unchecked(n: int, name: str, note: str) -> PoseCheck:
    return PoseCheck(valid=[False] * n, failed=[[name]] * n, level=["cheap"] * n, note=note)


def _bust(rows: list[tuple[Chem.Mol, Chem.Mol | None, Chem.Mol, Level]]) -> PoseCheck:
    import pandas as pd

    valid, failed = [False] * len(rows), [["not_checked"] for _ in rows]
    for level in ("full", "cheap", "interface"):
        picked = [i for i, row in enumerate(rows) if row[3] == level]
        if not picked:
            continue
        table = pd.DataFrame([{"mol_pred": rows[i][0], "mol_true": rows[i][1], "mol_cond": rows[i][2]} for i in picked])
        frame = _buster(level).bust_table(table)
        for i, (_, outcome) in zip(picked, frame.iterrows(), strict=True):
            failed[i] = [str(name) for name, passed in outcome.items() if not _passed(passed)]
            valid[i] = not failed[i]
    return PoseCheck(valid=valid, failed=failed, level=[row[3] for row in rows])


def _passed(value: Any) -> bool:
    """PoseBusters answers numpy booleans; a check it could not run (its inputs did not load or
    sanitise) is NA or NaN, which counts as not passed."""
    if value is None or isinstance(value, float) and math.isnan(value):
        return False
    try:
        return bool(value)
    except TypeError:  # pandas.NA refuses bool()
        return False


@cache
def _buster(level: Level) -> Any:
    from posebusters import PoseBusters

    from omtx.poses import geometry

    class Buster(PoseBusters):
        """PoseBusters with its distance-geometry test vectorised (omtx/poses/geometry.py): the
        same results at a fraction of the cost. Its modules are set up on every run."""

        def _initialize_modules(self) -> None:
            super()._initialize_modules()
            self.module_func = [
                partial(geometry.check_geometry, **func.keywords) if _is_geometry(func) else func
                for func in self.module_func
            ]

    return Buster(config=_config(level), max_workers=0)


def _is_geometry(func: Any) -> bool:
    from posebusters.modules.distance_geometry import check_geometry

    return isinstance(func, partial) and func.func is check_geometry


def _config(level: Level) -> dict[str, Any]:
    """PoseBusters' packaged "redock" configuration, cut down as the module docstring says."""
    from importlib import resources

    import yaml

    name = "redock.yml" if level == "full" else "redock_fast.yml"
    config: dict[str, Any] = yaml.safe_load(resources.files("posebusters").joinpath("config", name).read_text())
    config = copy.deepcopy(config)
    modules = [
        m for m in config["modules"] if m["function"] != "rmsd" and not m["name"].endswith(("cofactors", "waters"))
    ]
    if level == "interface":
        modules = [m for m in modules if m["function"] in ("intermolecular_distance", "volume_overlap")]
    config["modules"] = modules
    return config


@cache
def _version() -> str:
    from importlib.metadata import version

    return version("posebusters")
