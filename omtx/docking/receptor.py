"""Receptor preparation: structure text (PDB or mmCIF) → rigid receptor PDBQT with meeko.

Route R1 of DOCKING.md: HETATM records are dropped first (for an unknown residue name meeko
tries to download its chemical component definition, which offline costs ~16 s and then fails),
then meeko builds the polymer and deletes residues it cannot template (missing side-chain atoms).
Deleting a residue that lines the pocket silently changes the answer, so residues deleted near the
box centre are an error, and the others are reported. The guard is a distance to the centre, not
to the box: a 22 Å box (the size that lets drug-sized ligands fit) reaches residues 12 Å from the
pocket that no pose touches, and refusing those would refuse most crystal structures."""

from __future__ import annotations

import contextlib
import io
import math
from dataclasses import dataclass

from omtx.docking.box import Vec3
from omtx.structures import is_mmcif


class ReceptorError(ValueError):
    """The structure cannot be docked into as given; the message says why."""


@dataclass(frozen=True)
class Receptor:
    pdbqt: str
    pdb: str  # the prepared receptor with hydrogens, as PDB text (for the complex mmCIF)
    deleted: tuple[str, ...]  # "A:22"-style ids meeko could not template, all far from the box
    log: str


def to_pdb_text(text: str) -> str:
    """PDB text as meeko reads it; mmCIF is converted with gemmi."""
    if not is_mmcif(text):
        return text
    import gemmi

    try:
        structure = gemmi.make_structure_from_block(gemmi.cif.read_string(text).sole_block())
    except (RuntimeError, ValueError) as exc:
        raise ReceptorError(f"not a readable mmCIF file: {exc}") from exc
    structure.setup_entities()
    return str(structure.make_pdb_string())


def protein_atoms(pdb_text: str) -> str:
    return "".join(line for line in pdb_text.splitlines(keepends=True) if line.startswith(("ATOM", "TER", "END")))


def residue_coordinates(pdb_text: str) -> dict[str, list[tuple[float, float, float]]]:
    """ "chain:number" → atom coordinates, from ATOM records (fixed PDB columns)."""
    residues: dict[str, list[tuple[float, float, float]]] = {}
    for line in pdb_text.splitlines():
        if line.startswith("ATOM") and len(line) >= 54:
            key = f"{line[21].strip()}:{line[22:27].strip()}"
            residues.setdefault(key, []).append((float(line[30:38]), float(line[38:46]), float(line[46:54])))
    return residues


def prepare_receptor(structure_text: str, center: Vec3, guard_a: float) -> Receptor:
    """Raises ReceptorError when there is no protein, meeko fails, or a residue it had to delete
    has an atom within guard_a Å of the box centre."""
    from meeko import MoleculePreparation, PDBQTWriterLegacy, Polymer, PolymerCreationError, ResidueChemTemplates

    pdb = protein_atoms(to_pdb_text(structure_text))
    coordinates = residue_coordinates(pdb)
    if not coordinates:
        raise ReceptorError("the structure has no ATOM records (no protein to dock into)")
    captured = io.StringIO()
    try:
        # meeko prints its template-matching report; it belongs in the job log, not the service log
        with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
            polymer = Polymer.from_pdb_string(
                pdb, ResidueChemTemplates.create_from_defaults(), MoleculePreparation(), allow_bad_res=True
            )
            rigid, _flexible = PDBQTWriterLegacy.write_from_polymer(polymer)
    except (PolymerCreationError, RuntimeError) as exc:
        # RuntimeError: a residue whose proximity bonds break valence fails before templating
        raise ReceptorError(f"receptor preparation failed: {exc}") from exc
    deleted = tuple(sorted(polymer.get_ignored_monomers()))
    near = sorted(
        (round(min(math.dist(p, center) for p in coordinates[res]), 1), res) for res in deleted if res in coordinates
    )
    blocking = [f"{res} ({dist} Å)" for dist, res in near if dist <= guard_a]
    if blocking:
        raise ReceptorError(
            f"residues with missing atoms lie within {guard_a} Å of the box centre and would be deleted: "
            + ", ".join(blocking)
            + "; complete them (e.g. PDBFixer) or move/shrink the box"
        )
    return Receptor(pdbqt=rigid, pdb=str(polymer.to_pdb()), deleted=deleted, log=captured.getvalue())
