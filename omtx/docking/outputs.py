"""Docking outputs: poses as SDF (the chemistry record: bond orders from meeko's SMILES remark)
and the receptor–ligand complex as mmCIF (gemmi)."""

from __future__ import annotations

import io
from collections.abc import Sequence

from rdkit import Chem


def poses_to_mols(poses_pdbqt: str) -> list[Chem.Mol]:
    """One RDKit molecule per pose, hydrogens included."""
    from meeko import PDBQTMolecule, RDKitMolCreate

    mols = RDKitMolCreate.from_pdbqt_mol(PDBQTMolecule(poses_pdbqt, skip_typing=True))
    if not mols or mols[0] is None:
        raise ValueError("meeko could not rebuild the docked molecule from Vina's poses")
    mol = mols[0]
    return [Chem.Mol(mol, confId=conf.GetId()) for conf in mol.GetConformers()]


def poses_sdf(poses: Sequence[Chem.Mol], scores: Sequence[float], name: str) -> str:
    buffer = io.StringIO()
    writer = Chem.SDWriter(buffer)
    for rank, (pose, score) in enumerate(zip(poses, scores, strict=False), start=1):
        record = Chem.Mol(pose)
        for prop in record.GetPropNames():  # meeko's bookkeeping (is_sidechain, …) is not for users
            record.ClearProp(prop)
        record.SetProp("_Name", f"{name} pose {rank}")
        record.SetProp("rank", str(rank))
        record.SetProp("vina_score_kcal_mol", f"{score:.3f}")
        writer.write(record)
    writer.close()
    return buffer.getvalue()


def complex_mmcif(receptor_pdb: str, pose: Chem.Mol, name: str) -> str:
    """Receptor chains plus the pose's heavy atoms as chain L, residue LIG."""
    import gemmi

    structure = gemmi.read_pdb_string(receptor_pdb)
    structure.name = name[:40] or "complex"
    # meeko's PDB has no entity records; without them gemmi refuses to classify chains
    structure.setup_entities()
    structure.remove_ligands_and_waters()
    heavy = Chem.RemoveHs(pose)
    chain = gemmi.Chain("L")
    residue = gemmi.Residue()
    residue.name = "LIG"
    residue.seqid = gemmi.SeqId(1, " ")
    residue.het_flag = "H"
    conf = heavy.GetConformer()
    counts: dict[str, int] = {}
    for atom in heavy.GetAtoms():
        symbol = atom.GetSymbol()
        counts[symbol] = counts.get(symbol, 0) + 1
        position = conf.GetAtomPosition(atom.GetIdx())
        site = gemmi.Atom()
        site.name = f"{symbol}{counts[symbol]}"[:4]
        site.element = gemmi.Element(symbol)
        site.pos = gemmi.Position(position.x, position.y, position.z)
        site.occ = 1.0
        residue.add_atom(site)
    chain.add_residue(residue)
    structure[0].add_chain(chain)
    structure.entities.clear()
    structure.setup_entities()
    for number, entity in enumerate(structure.entities, start=1):
        entity.name = str(number)  # gemmi's defaults ("A", "LIG!") are not valid entity ids
    return str(structure.make_mmcif_document().as_string())
