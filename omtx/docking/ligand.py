"""Ligand preparation: canonical SMILES → 3D conformer (ETKDGv3 + MMFF) → Vina PDBQT (meeko)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # RDKit is imported where it runs: the registry (and every image) imports this module
    from rdkit import Chem

# Elements Vina's scoring function types (DOCKING.md §4): boron passes meeko and then breaks
# Vina's parser; metals get no type and a non-finite charge.
VINA_ELEMENTS = frozenset({"H", "C", "N", "O", "S", "P", "F", "Cl", "Br", "I", "Si"})


class LigandPrepError(ValueError):
    """This ligand cannot be prepared for docking; the message says why."""


def unsupported_elements(mol: Chem.Mol) -> list[str]:
    return sorted({a.GetSymbol() for a in mol.GetAtoms()} - VINA_ELEMENTS)


def embed(smiles: str, seed: int) -> Chem.Mol:
    """One seeded 3D conformer with hydrogens."""
    from rdkit import Chem
    from rdkit.Chem import AllChem

    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise LigandPrepError(f"RDKit could not parse {smiles!r}")
    if bad := unsupported_elements(mol):
        raise LigandPrepError(f"unsupported element(s) for Vina: {bad}")
    if any(atom.GetNumRadicalElectrons() for atom in mol.GetAtoms()):
        raise LigandPrepError("radical atoms cannot be typed for Vina")
    mol = Chem.AddHs(mol)
    options = AllChem.ETKDGv3()
    options.randomSeed = seed
    if AllChem.EmbedMolecule(mol, options) != 0:
        # Bridged polycycles: random starting coordinates recover most of them (DOCKING.md §4)
        options.useRandomCoords = True
        if AllChem.EmbedMolecule(mol, options) != 0:
            raise LigandPrepError("3D embedding failed (ETKDGv3, also with random coordinates)")
    if AllChem.MMFFHasAllMoleculeParams(mol):
        AllChem.MMFFOptimizeMolecule(mol, maxIters=2000)
    return mol


def to_pdbqt(mol: Chem.Mol) -> str:
    from meeko import MoleculePreparation, PDBQTWriterLegacy

    setups = MoleculePreparation().prepare(mol)
    pdbqt, ok, error = PDBQTWriterLegacy.write_string(setups[0])
    if not ok:  # meeko reports writer failures as a flag and text, not an exception
        raise LigandPrepError(f"meeko could not write PDBQT: {error.strip()}")
    return str(pdbqt)


def prepare_ligand(smiles: str, seed: int) -> str:
    return to_pdbqt(embed(smiles, seed))
