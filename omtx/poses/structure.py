"""Predicted structures as PoseBusters reads them: the protein's atoms (cropped to the ligand's
neighbourhood) and the ligand as an RDKit molecule with the input's bond orders.

Cropping is exact for the checks that use the protein: a clash, a volume overlap and the
"ligand too far away" test (5 Å) only involve protein atoms within a few Å of the ligand, so
atoms beyond CONTACT_RADIUS_A of every pose cannot change any of them. It matters for speed:
PoseBusters copies and filters the whole protein for every pose (5 s per pose for a 4,000-atom
receptor, 0.6 s when cropped; benchmarks/pose_checks.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from omtx.structures import is_mmcif

if TYPE_CHECKING:  # RDKit, gemmi and numpy are imported where they run: predictors import this module
    import gemmi
    import numpy as np
    from rdkit import Chem

# Largest distance at which a protein atom can matter to a check: PoseBusters' maximum-distance
# test (5 Å) plus a margin; vdW clashes and overlaps need far less.
CONTACT_RADIUS_A = 6.0
# Atoms kept when the ligand is far from every protein atom: the nearest ones, so the
# maximum-distance test still sees the true (too large) distance and fails.
NEAREST_KEPT = 8
WATERS = frozenset({"HOH", "WAT", "DOD", "H2O"})


class StructureProblem(ValueError):
    """The file holds no protein or no ligand to check; the message says which."""


@dataclass(frozen=True)
class ProteinAtoms:
    """A protein's ATOM/HETATM records (PDB columns) and their coordinates, read once and
    cropped around each ligand's poses."""

    records: tuple[str, ...]
    xyz: np.ndarray

    @classmethod
    def from_pdb(cls, pdb_text: str) -> ProteinAtoms:
        import numpy as np

        records = tuple(
            line for line in pdb_text.splitlines() if line.startswith(("ATOM", "HETATM")) and len(line) >= 54
        )
        if not records:
            raise StructureProblem("the structure has no protein atoms")
        xyz = np.array([(float(r[30:38]), float(r[38:46]), float(r[46:54])) for r in records])
        return cls(records, xyz)

    def around(self, points: np.ndarray, radius: float = CONTACT_RADIUS_A) -> Chem.Mol:
        """The atoms within `radius` Å of any point, at least the NEAREST_KEPT nearest, as an
        RDKit molecule (proximity bonds, not sanitised: PoseBusters reads proteins that way)."""
        import numpy as np
        from rdkit import Chem

        distance = nearest_distances(self.xyz, points)
        keep = np.flatnonzero(distance <= radius)
        if len(keep) < NEAREST_KEPT:
            keep = np.argsort(distance)[:NEAREST_KEPT]
        block = "\n".join(self.records[i] for i in sorted(keep)) + "\nEND\n"
        mol = Chem.MolFromPDBBlock(block, sanitize=False, removeHs=False)
        if mol is None:
            raise StructureProblem("RDKit could not read the protein's atoms")
        return mol


def nearest_distances(atoms: np.ndarray, points: np.ndarray, block: int = 2048) -> np.ndarray:
    """Each atom's distance to its nearest point, in blocks of atoms so memory stays bounded
    (numpy only: the GPU images carry no scipy)."""
    import numpy as np

    nearest = np.empty(len(atoms))
    squared_points = (points**2).sum(axis=1)
    for start in range(0, len(atoms), block):
        chunk = atoms[start : start + block]
        squared = (chunk**2).sum(axis=1)[:, None] + squared_points[None, :] - 2.0 * chunk @ points.T
        nearest[start : start + block] = np.sqrt(np.maximum(squared.min(axis=1), 0.0))
    return nearest


@dataclass(frozen=True)
class Complex:
    protein: ProteinAtoms
    ligand: Chem.Mol  # heavy atoms, bond orders from the input when its graph matches
    bond_orders_from_input: bool


def load(text: str) -> gemmi.Structure:
    """A PDB or mmCIF text as a gemmi structure (its first model is the prediction)."""
    import gemmi

    try:
        if is_mmcif(text):
            structure = gemmi.make_structure_from_block(gemmi.cif.read_string(text).sole_block())
        else:
            structure = gemmi.read_pdb_string(text)
    except (RuntimeError, ValueError) as exc:
        raise StructureProblem(f"not a readable PDB or mmCIF structure: {exc}") from exc
    if len(structure) == 0:
        raise StructureProblem("the structure has no model")
    while len(structure) > 1:  # other models are other samples; the first is the prediction
        del structure[len(structure) - 1]
    structure.setup_entities()
    return structure


def _pdb_atoms(structure: gemmi.Structure, keep: Callable[[gemmi.Chain, gemmi.Residue], bool]) -> str:
    """ATOM records of the residues `keep` selects, from a copy of the structure."""
    selected = structure.clone()
    for chain in selected[0]:
        for index in reversed(range(len(chain))):
            if not keep(chain, chain[index]):
                del chain[index]
    selected.remove_empty_chains()
    return "".join(
        line + "\n" for line in selected.make_pdb_string().splitlines() if line.startswith(("ATOM", "HETATM"))
    )


def split_complex(text: str, smiles: str) -> Complex:
    """A predicted protein–ligand complex (PDB or mmCIF): the polymer is the protein, the hetero
    residues that are not water are the ligand."""
    from rdkit import Chem

    structure = load(text)
    ligand = [
        (atom.element.name, (atom.pos.x, atom.pos.y, atom.pos.z))
        for chain in structure[0]
        for residue in chain
        if _is_ligand(residue)
        for atom in residue
        if atom.element.name != "H"
    ]
    if not ligand:
        raise StructureProblem("the structure has no ligand (no hetero residue other than water)")
    protein = _pdb_atoms(structure, lambda _, residue: residue.het_flag != "H")
    mol, matched = ligand_from_atoms(ligand, Chem.MolFromSmiles(smiles))
    return Complex(ProteinAtoms.from_pdb(protein), mol, matched)


def split_chains(text: str, binder_chains: frozenset[str]) -> tuple[ProteinAtoms, Chem.Mol]:
    """A protein–protein complex: the binder's chains as one molecule, the others as the target."""
    from rdkit import Chem

    structure = load(text)
    names = {chain.name for chain in structure[0]}
    if not names & binder_chains or not names - binder_chains:
        raise StructureProblem(
            f"expected binder chains {sorted(binder_chains)} and a target chain; the structure has {sorted(names)}"
        )
    binder = _pdb_atoms(structure, lambda chain, _: chain.name in binder_chains)
    target = _pdb_atoms(structure, lambda chain, _: chain.name not in binder_chains)
    mol = Chem.MolFromPDBBlock(binder + "END\n", sanitize=False, removeHs=False)
    if mol is None:
        raise StructureProblem("RDKit could not read the binder's atoms")
    return ProteinAtoms.from_pdb(target), mol


def _is_ligand(residue: gemmi.Residue) -> bool:
    return residue.het_flag == "H" and residue.name not in WATERS


def ligand_from_atoms(
    atoms: list[tuple[str, tuple[float, float, float]]], template: Chem.Mol | None
) -> tuple[Chem.Mol, bool]:
    """A molecule from elements and positions. Bonds come from distances (as PoseBusters reads a
    PDB ligand); when that graph is the input's, the result is the input molecule (its bond
    orders, charges and hydrogens) placed at the predicted positions. When it is not (a broken
    or fused prediction), the distance-bonded molecule is returned as is and PoseBusters'
    identity checks report the difference."""
    from rdkit import Chem
    from rdkit.Chem import rdDetermineBonds

    editable = Chem.RWMol()
    conformer = Chem.Conformer(len(atoms))
    for i, (element, position) in enumerate(atoms):
        editable.AddAtom(Chem.Atom(element.capitalize()))
        conformer.SetAtomPosition(i, position)
    conformer.Set3D(True)
    editable.AddConformer(conformer, assignId=True)
    found = editable.GetMol()
    rdDetermineBonds.DetermineConnectivity(found, useHueckel=False)
    match = match_graph(template, found) if template is not None else None
    if template is None or match is None:
        found.UpdatePropertyCache(strict=False)
        return found, False
    return placed_at(template, found, match), True


def placed_at(template: Chem.Mol, source: Chem.Mol, match: tuple[int, ...]) -> Chem.Mol:
    """A copy of `template` at the positions of its matched atoms in `source`, its stereo tags
    perceived from those positions (in the template's own neighbour order)."""
    from rdkit import Chem

    placed = Chem.Mol(template)
    positions = source.GetConformer().GetPositions()
    conformer = Chem.Conformer(placed.GetNumAtoms())
    for index, source_index in enumerate(match):
        conformer.SetAtomPosition(index, positions[source_index].tolist())
    conformer.Set3D(True)
    placed.RemoveAllConformers()
    placed.AddConformer(conformer, assignId=True)
    Chem.AssignStereochemistryFrom3D(placed, replaceExistingTags=True)
    return placed


def match_graph(template: Chem.Mol, mol: Chem.Mol) -> tuple[int, ...] | None:
    """Template atom index → atom index of `mol`, when the two have the same heavy-atom graph
    (elements and connections; bond orders and charges are not compared)."""
    from rdkit import Chem

    if mol.GetNumAtoms() != template.GetNumAtoms() or mol.GetNumBonds() != template.GetNumBonds():
        return None
    params = Chem.AdjustQueryParameters.NoAdjustments()
    params.makeBondsGeneric = True
    found = mol.GetSubstructMatch(Chem.AdjustQueryProperties(template, params), useChirality=False)
    return tuple(found) if len(found) == template.GetNumAtoms() else None
