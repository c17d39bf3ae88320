"""Ligand validation with RDKit: every row checked, every problem reported with its row."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from rdkit import Chem, RDLogger
from rdkit.Chem.MolStandardize import rdMolStandardize

from omtx.domain import Ligand, LigandIn, Limits

# RDKit prints parse failures to stderr; we turn them into per-row messages instead.
RDLogger.DisableLog("rdApp.*")

_largest_fragment = rdMolStandardize.LargestFragmentChooser(preferOrganic=True)
# What counter-ions and solvents are made of; anything else in a dropped fragment is refused.
SALT_ELEMENTS = frozenset({"H", "C", "N", "O", "S", "P", "F", "Cl", "Br", "I", "Si", "Li", "Na", "K", "Mg", "Ca"})


class LigandRejected(ValueError):
    """One SMILES string could not become a molecule."""


def parse_smiles(smiles: str) -> tuple[Chem.Mol, list[str]]:
    """Parse and sanitize; keep the largest fragment (salts and solvents), saying so."""
    text = smiles.strip()
    if not text:
        raise LigandRejected("empty SMILES")
    if any(ch.isspace() for ch in text):
        raise LigandRejected("SMILES contains whitespace")
    # RDKit reads a C string: it would stop at a NUL and accept "C\x00garbage" as methane.
    if (bad := next((i for i, ch in enumerate(text) if not ch.isprintable()), None)) is not None:
        raise LigandRejected(f"SMILES contains the control character {text[bad]!r} at position {bad + 1}")
    mol = Chem.MolFromSmiles(text, sanitize=False)
    if mol is None:
        raise LigandRejected("SMILES syntax error: RDKit could not parse it")
    try:
        Chem.SanitizeMol(mol)
    except Exception as exc:  # RDKit raises several unrelated types for chemistry problems
        raise LigandRejected(f"invalid chemistry: {exc}") from exc
    if mol.GetNumHeavyAtoms() == 0:
        raise LigandRejected("molecule has no heavy atoms")
    warnings: list[str] = []
    if len(Chem.GetMolFrags(mol)) > 1:  # atom indices: cheap for the common single fragment
        fragments = Chem.GetMolFrags(mol, asMols=True)
        kept = _largest_fragment.choose(mol)
        kept_smiles = Chem.MolToSmiles(kept)
        dropped = {atom.GetSymbol() for f in fragments if Chem.MolToSmiles(f) != kept_smiles for atom in f.GetAtoms()}
        if unusual := sorted(dropped - SALT_ELEMENTS):
            # ferrocene, zinc pyrithione, gadoterate: the "salt" is the point of the molecule
            raise LigandRejected(
                f"would drop a component containing {', '.join(unusual)}; submit the intended molecule alone"
            )
        mol = kept
        warnings.append(f"kept the largest of {len(fragments)} fragments (salts/solvents removed)")
    return mol, warnings


@dataclass(frozen=True)
class Molecule:
    """What validation needs of one SMILES: small, so it crosses process boundaries cheaply."""

    canonical_smiles: str
    heavy_atoms: int
    warnings: tuple[str, ...]
    elements: frozenset[str]


def describe(smiles: str) -> Molecule | str:
    """The molecule, or why the string is not one."""
    try:
        mol, warnings = parse_smiles(smiles)
    except LigandRejected as exc:
        return str(exc)
    return Molecule(
        Chem.MolToSmiles(mol),
        mol.GetNumHeavyAtoms(),
        tuple(warnings),
        frozenset(atom.GetSymbol() for atom in mol.GetAtoms()),
    )


PARALLEL_FROM = 2_000  # below this, starting a pool costs more than it saves
_pool: ProcessPoolExecutor | None = None


def inchikey(canonical_smiles: str) -> str:
    """Computed when jobs are written, not at validation: it is half of RDKit's time per molecule
    (0.4 ms), and a 100,000-ligand batch must be answered in seconds. Empty when InChI fails."""
    mol = Chem.MolFromSmiles(canonical_smiles)
    return Chem.MolToInchiKey(mol) if mol is not None else ""


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
    """Returns the valid ligands and a {loc, msg, input} entry for every bad row. Warnings (salts
    stripped, a molecule repeated, a size outside the model's training range) ride on the ligand."""
    limits = limits or Limits()
    valid: list[Ligand] = []
    errors: list[dict[str, Any]] = []
    seen_names: dict[str, int] = {}
    seen_molecules: dict[str, int] = {}
    for index, (item, molecule) in enumerate(zip(ligands, describe_all([x.smiles for x in ligands]), strict=True)):
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
        if isinstance(molecule, str):
            errors.append({"loc": ["ligands", index, "smiles"], "msg": molecule, "input": item.smiles})
            continue
        heavy = molecule.heavy_atoms
        if limits.max_heavy_atoms is not None and heavy > limits.max_heavy_atoms:
            errors.append(
                {
                    "loc": ["ligands", index, "smiles"],
                    "msg": f"{heavy} heavy atoms; this model accepts at most {limits.max_heavy_atoms}",
                    "input": item.smiles,
                }
            )
            continue
        if limits.allowed_elements is not None and (bad := sorted(molecule.elements - limits.allowed_elements)):
            errors.append(
                {
                    "loc": ["ligands", index, "smiles"],
                    "msg": f"element(s) {', '.join(bad)} cannot be handled by this model",
                    "input": item.smiles,
                }
            )
            continue
        warnings = list(molecule.warnings)
        if limits.warn_heavy_atoms is not None and heavy > limits.warn_heavy_atoms:
            warnings.append(
                f"{heavy} heavy atoms is above {limits.warn_heavy_atoms}, outside the model's training range"
            )
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
                heavy_atoms=heavy,
                warnings=warnings,
            )
        )
    return valid, errors
