"""The vectorised distance-geometry test answers exactly what PoseBusters' own does, on plausible
poses and on poses bent, stretched, squeezed and folded onto themselves, for molecules with
hydrogens, conjugated terminal groups (carboxylate, nitro), rings and charges."""

from __future__ import annotations

import math

import numpy as np
import pytest
from posebusters.modules.distance_geometry import check_geometry as posebusters_geometry
from rdkit import Chem
from rdkit.Chem import AllChem

from omtx.poses import check as check_module
from omtx.poses.geometry import check_geometry

MOLECULES = {
    "2'-deoxyadenosine": "Nc1ncnc2c1ncn2[C@H]1C[C@H](O)[C@@H](CO)O1",
    "aspirin": "CC(=O)Oc1ccccc1C(=O)O",
    "nitrobenzoate": "[O-]C(=O)c1ccc(cc1)[N+](=O)[O-]",
    "imatinib": "Cc1ccc(NC(=O)c2ccc(CN3CCN(C)CC3)cc2)cc1Nc1nccc(-c2cccnc2)n1",
    "cyclopropylamine": "NC1CC1",
}


def conformers(smiles: str, hydrogens: bool, n: int = 4) -> list[Chem.Mol]:
    mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
    AllChem.EmbedMultipleConfs(mol, numConfs=n, randomSeed=7)
    if not hydrogens:
        mol = Chem.RemoveHs(mol)
    return [Chem.Mol(mol, confId=conf.GetId()) for conf in mol.GetConformers()]


def distorted(mol: Chem.Mol, seed: int) -> Chem.Mol:
    """Every kind of fault at once, chosen at random: jitter, a stretched bond, a squeezed angle,
    an atom folded onto another."""
    rng = np.random.default_rng(seed)
    copy = Chem.Mol(mol)
    xyz = copy.GetConformer().GetPositions()
    xyz += rng.normal(0, rng.choice([0.02, 0.15, 0.4]), xyz.shape)
    a, b = rng.choice(len(xyz), 2, replace=False)
    xyz[a] += (xyz[a] - xyz[b]) * rng.uniform(-0.6, 0.6)
    if rng.random() < 0.5:
        xyz[b] = xyz[a] + rng.normal(0, 0.5, 3)
    conformer = copy.GetConformer()
    for i, position in enumerate(xyz):
        conformer.SetAtomPosition(i, position.tolist())
    return copy


def same(ours: dict, theirs: dict) -> None:
    assert ours.keys() == theirs.keys()
    for key, expected in theirs.items():
        got = ours[key]
        if isinstance(expected, float) and math.isnan(expected):
            assert isinstance(got, float) and math.isnan(got), key
        elif isinstance(expected, bool | np.bool_):
            assert bool(got) == bool(expected), key
        else:
            assert got == pytest.approx(expected, rel=1e-9), key


@pytest.mark.parametrize("hydrogens", [False, True])
@pytest.mark.parametrize("name", sorted(MOLECULES))
def test_the_same_results_as_posebusters(name, hydrogens):
    verdicts = set()
    for k, pose in enumerate(conformers(MOLECULES[name], hydrogens)):
        for seed in range(6):
            mol = pose if seed == 0 else distorted(pose, seed * 31 + k)
            theirs = posebusters_geometry(mol)["results"]
            same(check_geometry(mol)["results"], theirs)
            verdicts.add((theirs["bond_lengths_within_bounds"], theirs["no_internal_clash"]))
    assert len(verdicts) > 1, "the poses must include failing ones, or the comparison proves little"


def test_degenerate_molecules_answer_as_posebusters():
    single = Chem.AddHs(Chem.MolFromSmiles("[Na+]"))
    AllChem.EmbedMolecule(single, randomSeed=1)
    no_conformer = Chem.MolFromSmiles("CCO")
    for mol in (single, no_conformer):
        same(check_geometry(mol)["results"], posebusters_geometry(mol)["results"])


def test_the_checker_runs_the_vectorised_test():
    buster = check_module._buster("cheap")
    buster._initialize_modules()
    assert any(getattr(f, "func", None) is check_geometry for f in buster.module_func)
