"""PoseBusters on predicted poses (omtx.poses): the 1S2G crystal complex passes, and each kind of
implausible pose fails the check that names it, is still reported (never dropped), and the
co-folding and design models' fixture structures go through the same function."""

from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem

from omtx.docking.outputs import complex_mmcif
from omtx.poses import PoseCheck, ProteinAtoms, check_poses, check_structure
from omtx.poses import check as check_module
from omtx.poses.stereo import reference
from omtx.poses.structure import CONTACT_RADIUS_A

DATA = resources.files("omtx.data")
RECEPTOR = DATA.joinpath("1s2g_receptor.pdb").read_text()
CRYSTAL = Chem.MolFromMolBlock(DATA.joinpath("1s2g_ligand.sdf").read_text())
DADO = "Nc1ncnc2c1ncn2[C@H]1C[C@H](O)[C@@H](CO)O1"  # 2'-deoxyadenosine, the crystal ligand
FIXTURES = Path(__file__).parents[1] / "fixtures"
ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"


@pytest.fixture(scope="module")
def protein() -> ProteinAtoms:
    return ProteinAtoms.from_pdb(RECEPTOR)


def moved(mol: Chem.Mol, change) -> Chem.Mol:
    copy = Chem.Mol(mol)
    conformer = copy.GetConformer()
    for i, position in enumerate(change(conformer.GetPositions())):
        conformer.SetAtomPosition(i, position.tolist())
    return copy


CENTRE = CRYSTAL.GetConformer().GetPositions().mean(axis=0)


def stretched(mol: Chem.Mol) -> Chem.Mol:
    """Atom 0 pulled 50 % further along its bond to atom 1."""

    def pull(p: np.ndarray) -> np.ndarray:
        p = p.copy()
        p[0] += (p[0] - p[1]) * 0.5
        return p

    return moved(mol, pull)


def test_the_crystal_pose_passes_every_check(protein):
    result = check_poses([CRYSTAL], DADO, protein)
    assert result.metrics() == {"pb_valid": True, "pb_failed": [], "pb_valid_poses": 1, "pb_poses_checked": 1}
    assert result.level == ["full"]


@pytest.mark.parametrize(
    ("pose", "failed"),
    [
        # 3 Å into the protein: atoms closer than their radii allow, volumes overlapping
        (moved(CRYSTAL, lambda p: p + [3.0, 0, 0]), ["minimum_distance_to_protein", "volume_overlap_with_protein"]),
        # 60 Å away: no protein atom within 5 Å (the crop keeps the nearest atoms to see it)
        (moved(CRYSTAL, lambda p: p + [60.0, 0, 0]), ["protein-ligand_maximum_distance"]),
        # mirrored in the pocket: every stereocentre inverted
        (moved(CRYSTAL, lambda p: p * [-1, 1, 1] + [2 * CENTRE[0], 0, 0]), ["tetrahedral_chirality"]),
        (stretched(CRYSTAL), ["bond_lengths", "bond_angles"]),
    ],
    ids=["clash", "far", "mirrored", "stretched-bond"],
)
def test_each_implausible_pose_fails_the_check_that_names_it(protein, pose, failed):
    result = check_poses([pose], DADO, protein)
    metrics = result.metrics()
    assert metrics["pb_valid"] is False and metrics["pb_poses_checked"] == 1  # flagged, not dropped
    assert set(failed) <= set(metrics["pb_failed"])


def test_stereo_the_input_left_open_is_not_held_against_the_pose(protein):
    open_smiles = "Nc1ncnc2c1ncn2C1CC(O)C(CO)O1"
    assert check_poses([CRYSTAL], open_smiles, protein).metrics()["pb_valid"] is True
    inverted_input = "Nc1ncnc2c1ncn2[C@@H]1C[C@H](O)[C@@H](CO)O1"  # C1' the other way round
    assert check_poses([CRYSTAL], inverted_input, protein).metrics()["pb_failed"] == ["tetrahedral_chirality"]


@pytest.mark.parametrize(
    ("given", "pose_smiles"),
    [
        ("CC(N)C(=O)O", "C[C@H](N)C(=O)O"),
        ("CC=CCC(F)Cl", "C/C=C/C[C@@H](F)Cl"),  # an open double bond and an open centre
        ("C/C=C\\CC(F)Cl", "C/C=C\\C[C@H](F)Cl"),  # the bond given, the centre open
        ("FC(Cl)(Br)I", "F[C@](Cl)(Br)I"),
    ],
)
def test_the_reference_takes_only_open_stereo_from_the_pose(given, pose_smiles):
    from rdkit.Chem import AllChem

    pose = Chem.AddHs(Chem.MolFromSmiles(pose_smiles))
    AllChem.EmbedMolecule(pose, randomSeed=7)
    assert Chem.MolToSmiles(reference(given, pose)) == Chem.MolToSmiles(Chem.MolFromSmiles(pose_smiles))
    # what the input fixed stays as the input has it, whatever the pose did
    assert Chem.MolToSmiles(reference("C[C@@H](N)C(=O)O", pose_of("C[C@H](N)C(=O)O"))) == "C[C@@H](N)C(=O)O"


def pose_of(smiles: str) -> Chem.Mol:
    from rdkit.Chem import AllChem

    mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
    AllChem.EmbedMolecule(mol, randomSeed=3)
    return mol


def test_cropping_the_protein_changes_no_outcome(protein):
    """The checks see only atoms within CONTACT_RADIUS_A of the poses; on the whole receptor
    they answer the same, pose by pose."""
    poses = [CRYSTAL, moved(CRYSTAL, lambda p: p + [3.0, 0, 0]), moved(CRYSTAL, lambda p: p + [0, 2.0, 1.0])]
    whole = Chem.MolFromPDBBlock(RECEPTOR, sanitize=False, removeHs=False)
    pocket = protein.around(np.concatenate([p.GetConformer().GetPositions() for p in poses]))
    assert pocket.GetNumAtoms() < whole.GetNumAtoms() / 4
    cropped = check_poses(poses, DADO, protein, full_poses=0)
    full = check_module._bust([(p, reference(DADO, p), whole, "cheap") for p in poses])
    assert cropped.failed == full.failed and cropped.valid == full.valid
    assert CONTACT_RADIUS_A >= 5.0  # PoseBusters' maximum-distance test reaches 5 Å


def test_full_poses_limits_the_full_set_to_the_top_poses(protein):
    poses = [CRYSTAL, stretched(CRYSTAL), moved(CRYSTAL, lambda p: p + [3.0, 0, 0])]
    result = check_poses(poses, DADO, protein, full_poses=1)
    assert result.level == ["full", "cheap", "cheap"]
    assert result.valid == [True, False, False]
    assert result.metrics() | {"pb_failed": None} == {
        "pb_valid": True,
        "pb_failed": None,
        "pb_valid_poses": 1,
        "pb_poses_checked": 3,
    }
    assert check_module._config("full")["modules"] != check_module._config("cheap")["modules"]
    assert "energy_ratio" in {m["function"] for m in check_module._config("full")["modules"]}
    assert "energy_ratio" not in {m["function"] for m in check_module._config("cheap")["modules"]}


def test_a_checker_that_breaks_flags_the_poses_and_keeps_them(protein, monkeypatch):
    def broken(rows):
        raise RuntimeError("pandas went away")

    monkeypatch.setattr(check_module, "_bust", broken)
    result = check_poses([CRYSTAL, CRYSTAL], DADO, protein)
    assert result.metrics() == {
        "pb_valid": False,
        "pb_failed": ["posebusters_error"],
        "pb_valid_poses": 0,
        "pb_poses_checked": 2,
    }
    assert "pandas went away" in result.note


def test_a_complex_file_is_split_into_protein_and_ligand_with_the_input_bond_orders():
    text = complex_mmcif(RECEPTOR, CRYSTAL, "dAdo")
    result = check_structure(text, DADO)
    assert result.metrics()["pb_valid"] is True and result.note is None
    assert result.level == ["full"]  # by default every pose gets the full set


def test_a_predicted_ligand_that_is_not_the_input_molecule_fails_identity():
    # atom 0 (O5') torn off: the distance-bonded graph is no longer 2'-deoxyadenosine
    torn = moved(CRYSTAL, lambda p: np.vstack([p[:1] + [4.0, 0, 0], p[1:]]))
    result = check_structure(complex_mmcif(RECEPTOR, torn, "torn"), DADO)
    assert result.metrics()["pb_valid"] is False
    assert {"all_atoms_connected", "molecular_bonds"} <= set(result.metrics()["pb_failed"])
    assert "do not form the input molecule" in result.note


def test_a_complex_without_a_ligand_is_flagged():
    result = check_structure(RECEPTOR, DADO)
    assert result.metrics()["pb_failed"] == ["structure_readable"]
    assert "no ligand" in result.note


@pytest.mark.parametrize(
    "path",
    [
        "boltz2/runs/chunk/boltz_results_inputs/predictions/j-ok/j-ok_model_0.cif",
        "chai1/runs/ok/pred.model_idx_1.cif",
        "chai1/runs/clash/pred.model_idx_0.cif",
    ],
)
def test_co_folding_fixtures_go_through_the_same_function(path):
    """The fixtures place an RDKit-embedded aspirin amid randomly scattered protein atoms: the
    ligand itself is plausible and is the input molecule, the contacts are not."""
    result = check_structure((FIXTURES / path).read_text(), ASPIRIN)
    assert result.metrics()["pb_failed"] == ["minimum_distance_to_protein", "volume_overlap_with_protein"]
    assert result.note is None  # the predicted atoms form aspirin


def test_a_designed_binder_is_checked_at_its_interface():
    """RFantibody's fixture design sits 12 Å from its target: no contact."""
    text = (FIXTURES / "rfantibody/success/samples_design_1_dldesign_1_best.pdb").read_text()
    result = check_structure(text, None, "protein")
    assert result.level == ["interface"]
    assert result.metrics()["pb_failed"] == ["protein-ligand_maximum_distance"]
    # moved onto the target, the same design clashes with it
    target = np.array(
        [
            [float(line[30:38]), float(line[38:46]), float(line[46:54])]
            for line in text.splitlines()
            if line[21:22] == "T"
        ]
    )
    binder = np.array(
        [
            [float(line[30:38]), float(line[38:46]), float(line[46:54])]
            for line in text.splitlines()
            if line[21:22] == "H"
        ]
    )
    shift = target.mean(axis=0) - binder.mean(axis=0)
    lines = []
    for line in text.splitlines(keepends=True):
        if line.startswith("ATOM") and line[21] == "H":
            x, y, z = (float(line[30 + 8 * i : 38 + 8 * i]) + shift[i] for i in range(3))
            line = f"{line[:30]}{x:8.3f}{y:8.3f}{z:8.3f}{line[54:]}"
        lines.append(line)
    assert "minimum_distance_to_protein" in check_structure("".join(lines), None, "protein").metrics()["pb_failed"]


def test_unchecked_metrics_say_so():
    assert PoseCheck().metrics() == {
        "pb_valid": False,
        "pb_failed": ["not_checked"],
        "pb_valid_poses": 0,
        "pb_poses_checked": 0,
    }


def test_a_model_names_its_structure_file_from_its_metrics():
    from omtx.predictors.base import StructureView

    view = StructureView("{best_tag}.pdb", kind="protein_complex")
    assert view.fields == ("best_tag",)
    assert view.file_for({"best_tag": "design_1"}) == "design_1.pdb"
    assert view.file_for({"best_tag": None}) is None and view.file_for({}) is None
    assert StructureView("complex.cif").file_for({}) == "complex.cif"


def test_every_structure_model_declares_its_file_and_is_checked():
    from omtx.predictors.registry import MODELS

    declared = {name: spec.structure.file for name, spec in MODELS.items() if spec.structure}
    assert declared == {
        "vina": "complex.cif",
        "boltz2": "structure.cif",
        "chai1": "structure.cif",
        "rfantibody": "{best_tag}.pdb",
        "rdkit_props": "structure.sdf",
    }


def test_a_declared_structure_the_model_did_not_write_is_flagged():
    from omtx.predictors.base import Prediction, StructureView
    from omtx.predictors.posecheck import with_pose_check

    prediction = with_pose_check(Prediction(metrics={"score": 1.0}), StructureView("structure.cif"), ASPIRIN)
    assert prediction.metrics["score"] == 1.0  # the result stands
    assert prediction.metrics["pb_valid"] is False and prediction.metrics["pb_failed"] == ["structure_missing"]


def test_a_pose_split_from_a_multi_conformer_molecule_is_checked_like_any_other(protein):
    """meeko returns the poses as conformers 0…n of one molecule; split, each keeps its id, and
    PoseBusters' energy test reads conformer 0 only ("Bad Conformer Id" failed every pose but the
    first of the demo before the poses were renumbered)."""
    many = Chem.Mol(CRYSTAL)
    for conformer_id in (1, 2):
        copy = Chem.Conformer(many.GetConformer())
        copy.SetId(conformer_id)
        many.AddConformer(copy, assignId=False)
    split = [Chem.Mol(many, confId=c.GetId()) for c in many.GetConformers()]
    assert [p.GetConformer().GetId() for p in split] == [0, 1, 2]
    result = check_poses(split, DADO, protein)
    assert result.valid == [True, True, True] and result.level == ["full"] * 3
