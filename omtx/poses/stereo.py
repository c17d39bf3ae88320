"""The reference molecule of PoseBusters' identity checks: the input SMILES, with every stereo
element the input left open taken from the pose.

PoseBusters compares the pose's InChI with the reference's layer by layer, so an input with an
unspecified stereocentre would fail "Tetrahedral chirality" against any pose (a 3D pose always has
a configuration). Filling only the open elements from the pose means exactly what the input
specified is compared: a centre the input fixed and the pose inverted still fails."""

from __future__ import annotations

from typing import TYPE_CHECKING

from omtx.poses.structure import match_graph, placed_at

if TYPE_CHECKING:
    from rdkit import Chem


def _relative() -> dict[Chem.BondStereo, Chem.BondStereo]:
    from rdkit import Chem

    stereo = Chem.BondStereo
    return {
        stereo.STEREOE: stereo.STEREOTRANS,
        stereo.STEREOZ: stereo.STEREOCIS,
        stereo.STEREOTRANS: stereo.STEREOTRANS,
        stereo.STEREOCIS: stereo.STEREOCIS,
    }


def open_stereo(mol: Chem.Mol) -> tuple[list[int], list[int]]:
    """Atom and bond indexes of the stereo elements the molecule leaves unspecified."""
    from rdkit import Chem

    atoms, bonds = [], []
    for info in Chem.FindPotentialStereo(mol):
        if info.specified != Chem.StereoSpecified.Unspecified:
            continue
        if info.type == Chem.StereoType.Atom_Tetrahedral:
            atoms.append(info.centeredOn)
        elif info.type == Chem.StereoType.Bond_Double:
            bonds.append(info.centeredOn)
    return atoms, bonds


def reference(smiles: str, pose: Chem.Mol | None) -> Chem.Mol | None:
    """The input molecule, its open stereo elements set as the pose has them. Unchanged when it
    has none, or when the pose cannot be matched to it atom for atom (the identity checks then
    report the mismatch)."""
    from rdkit import Chem

    mol = Chem.MolFromSmiles(smiles)
    if mol is None or pose is None or pose.GetNumConformers() == 0:
        return mol
    atoms, bonds = open_stereo(mol)
    if not atoms and not bonds:
        return mol
    heavy = Chem.RemoveHs(pose, sanitize=False)
    match = match_graph(mol, heavy)
    if match is None:
        return mol
    # RDKit perceives the configuration of the input's own graph placed at the pose's
    # coordinates; its tags are then in the input's neighbour order and can be copied as they are.
    placed = placed_at(mol, heavy, match)
    for index in atoms:
        mol.GetAtomWithIdx(index).SetChiralTag(placed.GetAtomWithIdx(index).GetChiralTag())
    for index in bonds:
        source, target = placed.GetBondWithIdx(index), mol.GetBondWithIdx(index)
        if len(source.GetStereoAtoms()) == 2 and source.GetStereo() in (relative := _relative()):
            # E/Z name the CIP-ranked neighbours perception put in the stereo atoms; as cis/trans
            # of those same atoms the setting survives re-perception
            target.SetStereoAtoms(*source.GetStereoAtoms())
            target.SetStereo(relative[source.GetStereo()])
    return mol
