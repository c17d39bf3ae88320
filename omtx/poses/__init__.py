"""Plausibility checks of predicted poses with PoseBusters, one entry point for every model: a
docking run's poses (`check_poses`) and a co-folding model's or a designer's complex file
(`check_structure`). Each job reports `pb_valid` (its best pose passed every check) and
`pb_failed` (the names of the checks it failed); see docs/models.md.

Importing it loads neither RDKit nor PoseBusters (pandas): they are imported where a check runs."""

from omtx.poses.check import FULL_CHECK_POSES, PoseCheck, check_poses, check_structure
from omtx.poses.structure import ProteinAtoms, StructureProblem

__all__ = ["FULL_CHECK_POSES", "PoseCheck", "ProteinAtoms", "StructureProblem", "check_poses", "check_structure"]
