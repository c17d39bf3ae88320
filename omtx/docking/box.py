"""The search box: where Vina looks for poses."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

Vec3 = tuple[float, float, float]


def centroid(points: Iterable[Sequence[float]]) -> Vec3:
    xs = list(points)
    if not xs:
        raise ValueError("no coordinates")
    return (
        sum(p[0] for p in xs) / len(xs),
        sum(p[1] for p in xs) / len(xs),
        sum(p[2] for p in xs) / len(xs),
    )


def reference_center(mol_block: str) -> Vec3:
    """Centre of a reference ligand's heavy atoms (SDF / MOL block text)."""
    from rdkit import Chem

    mol = Chem.MolFromMolBlock(mol_block, sanitize=False)
    if mol is None or mol.GetNumConformers() == 0:
        raise ValueError("not a MOL/SDF block with 3D coordinates")
    conf = mol.GetConformer()
    heavy = [conf.GetAtomPosition(a.GetIdx()) for a in mol.GetAtoms() if a.GetAtomicNum() > 1]
    if not heavy:
        raise ValueError("the reference ligand has no heavy atoms")
    return centroid((p.x, p.y, p.z) for p in heavy)
