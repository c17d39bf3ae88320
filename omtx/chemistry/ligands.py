"""A batch's ligand rows validated: every row described with RDKit (spread over the machine's
cores for large batches, each distinct string once), then named, de-duplicated and held to the
model's Limits. Every bad row is reported with its row; warnings ride on the ligand."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from omtx.chemistry.policy import LigandRejected, apply
from omtx.chemistry.smiles import Molecule, describe
from omtx.domain import Ligand, LigandIn, Limits

PARALLEL_FROM = 2_000  # below this, starting a pool costs more than it saves
_pool: ProcessPoolExecutor | None = None


def describe_all(smiles: Sequence[str]) -> list[Molecule | str]:
    """RDKit on every row: about 0.3 ms a molecule, so large batches are spread over the
    machine's cores."""
    global _pool
    # A string repeated in a library (a control, a re-run row) is parsed once.
    unique = list(dict.fromkeys(smiles))
    cores = os.cpu_count() or 1
    if len(unique) < PARALLEL_FROM or cores < 2:
        described = [describe(s) for s in unique]
    else:
        if _pool is None:
            # spawn: the caller holds gRPC channels and threads that must not be forked
            _pool = ProcessPoolExecutor(max_workers=cores, mp_context=multiprocessing.get_context("spawn"))
        described = list(_pool.map(describe, unique, chunksize=max(100, len(unique) // (cores * 8))))
    if len(unique) == len(smiles):
        return described
    by_string = dict(zip(unique, described, strict=True))
    return [by_string[s] for s in smiles]


def validate_ligands(
    ligands: Sequence[LigandIn], limits: Limits | None = None
) -> tuple[list[Ligand], list[dict[str, Any]]]:
    """Returns the valid ligands and {loc, msg, input} entries naming every bad row: rows that
    failed the schema (one entry for each of their problems) and rows RDKit or the policy refused
    (one entry each). Warnings
    (salts stripped, a molecule repeated, a size outside the model's training range) ride on the
    ligand."""
    limits = limits or Limits()
    valid: list[Ligand] = []
    errors: list[dict[str, Any]] = []
    seen_names: dict[str, int] = {}
    seen_molecules: dict[str, int] = {}
    described = iter(describe_all([x.smiles for x in ligands if not x.problems]))
    for index, item in enumerate(ligands):
        if item.problems:
            errors += item.problems
            continue
        molecule = next(described)
        name = (item.name or "").strip() or f"ligand-{index + 1}"
        if name in seen_names:
            errors.append(
                {
                    "loc": ["ligands", index, "name"],
                    "msg": f"duplicate ligand name (first used by row {seen_names[name]})",
                    "input": item.name,
                }
            )
            continue
        seen_names[name] = index
        try:
            if isinstance(molecule, str):
                raise LigandRejected(molecule)
            warnings = _within_limits(molecule, limits)
        except LigandRejected as exc:
            errors.append({"loc": ["ligands", index, "smiles"], "msg": str(exc), "input": item.smiles})
            continue
        canonical = molecule.canonical_smiles
        if canonical in seen_molecules:
            warnings.append(f"same molecule as row {seen_molecules[canonical]}")
        else:
            seen_molecules[canonical] = index
        valid.append(
            Ligand(
                index=len(valid),
                row=index,
                name=name,
                smiles=item.smiles,
                canonical_smiles=canonical,
                heavy_atoms=molecule.heavy_atoms,
                warnings=warnings,
            )
        )
    return valid, errors


def _within_limits(molecule: Molecule, limits: Limits) -> list[str]:
    """The model's limits on one molecule: the row's warnings, or LigandRejected."""
    warnings = list(molecule.warnings)
    heavy = molecule.heavy_atoms
    if limits.max_heavy_atoms is not None and heavy > limits.max_heavy_atoms:
        apply("too_large", warnings, heavy=heavy, limit=limits.max_heavy_atoms)
    if limits.allowed_elements is not None and (bad := sorted(molecule.elements - limits.allowed_elements)):
        apply("elements", warnings, elements=", ".join(bad))
    if limits.warn_heavy_atoms is not None and heavy > limits.warn_heavy_atoms:
        apply("training_range", warnings, heavy=heavy, limit=limits.warn_heavy_atoms)
    return warnings
