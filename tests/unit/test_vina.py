"""The `vina` docking model on the shipped 1S2G receptor: preparation rules, the engine's
failure handling, and a redock of the crystal ligand."""

import re
from importlib import resources

import gemmi
import pytest
from pydantic import ValidationError
from rdkit import Chem
from rdkit.Chem import rdMolAlign

from omtx.docking.box import reference_center
from omtx.docking.engine import DockingEngine, DockingError
from omtx.docking.ligand import LigandPrepError, prepare_ligand
from omtx.docking.receptor import ReceptorError, prepare_receptor
from omtx.domain import ProteinIn
from omtx.predictors.base import LigandTask, PredictionFailed
from omtx.predictors.vina import VinaDocking, VinaParams, check_structure

DATA = resources.files("omtx.data")
RECEPTOR = DATA.joinpath("1s2g_receptor.pdb").read_text()
CRYSTAL = DATA.joinpath("1s2g_ligand.sdf").read_text()
DADO = "Nc1ncnc2c1ncn2[C@H]1C[C@H](O)[C@@H](CO)O1"  # 2'-deoxyadenosine, the crystal ligand
SEQUENCE = gemmi.one_letter_code([r.name for r in gemmi.read_pdb_string(RECEPTOR)[0]["A"]])


def task(smiles: str, name: str = "lig") -> LigandTask:
    return LigandTask(job_id=f"j-{name}", index=0, name=name, canonical_smiles=smiles)


@pytest.fixture(scope="module")
def docking():
    model = VinaDocking()
    yield model
    if model._engine is not None:
        model._engine.close()


@pytest.fixture(scope="module")
def params():
    return VinaParams(reference_sdf=CRYSTAL, exhaustiveness=4, n_poses=5)


def test_box_needs_exactly_one_source():
    with pytest.raises(ValidationError, match="exactly one of center or reference_sdf"):
        VinaParams()
    with pytest.raises(ValidationError, match="exactly one"):
        VinaParams(center=(0, 0, 0), reference_sdf=CRYSTAL)
    with pytest.raises(ValidationError, match="8–40 Å"):
        VinaParams(center=(0, 0, 0), size=(22, 22, 60))
    with pytest.raises(ValidationError, match="MOL/SDF"):
        VinaParams(reference_sdf="not a molfile")
    assert VinaParams(reference_sdf=CRYSTAL).box_center() == pytest.approx((-0.122, -6.5997, -22.4139), abs=1e-3)


@pytest.mark.parametrize(
    ("smiles", "reason"),
    [
        ("CC(C)C[C@H](NC(=O)[C@H](Cc1ccccc1)NC(=O)c1cnccn1)B(O)O", "unsupported element(s) for Vina: ['B']"),
        ("N.N.Cl[Pt]Cl", "unsupported element(s) for Vina: ['Pt']"),
        ("C[CH2]", "radical"),
        ("C1CC", "could not parse"),
    ],
)
def test_ligands_vina_cannot_type_are_refused_with_the_reason(smiles, reason):
    with pytest.raises(LigandPrepError, match=re.escape(reason)):
        prepare_ligand(smiles, seed=42)


def test_ligand_pdbqt_is_deterministic_for_a_seed():
    assert prepare_ligand(DADO, seed=7) == prepare_ligand(DADO, seed=7)


def test_incomplete_residues_near_the_pocket_refuse_the_receptor():
    center = reference_center(CRYSTAL)
    # A:22 lacks side-chain atoms and lies 12.6 Å from the pocket centre
    with pytest.raises(ReceptorError, match=r"A:22 \(12.6 Å\)"):
        prepare_receptor(RECEPTOR, center, guard_a=13.0)
    receptor = prepare_receptor(RECEPTOR, center, guard_a=10.0)
    assert "A:22" in receptor.deleted and len(receptor.deleted) == 26
    assert receptor.pdbqt.count("\nATOM") > 2000


def test_mmcif_receptor_is_accepted():
    cif = gemmi.read_pdb_string(RECEPTOR).make_mmcif_document().as_string()
    receptor = prepare_receptor(cif, reference_center(CRYSTAL), guard_a=10.0)
    assert len(receptor.deleted) == 26


def test_submit_check_names_the_problem(params):
    protein = ProteinIn(sequence=SEQUENCE, structure="HEADER nothing here\nEND\n")
    assert "no ATOM records" in check_structure(protein, params)
    assert check_structure(ProteinIn(sequence=SEQUENCE, structure=RECEPTOR), params) is None


def test_redock_of_the_crystal_ligand_lands_in_the_pocket(docking, params):
    prediction = docking.predict(ProteinIn(sequence=SEQUENCE, structure=RECEPTOR), task(DADO, "dAdo"), params)
    metrics = prediction.metrics
    assert metrics["vina_score"] < -6 and metrics["fits_box"] and metrics["n_poses"] == 5
    # every pose checked with PoseBusters' full set against the receptor
    assert metrics["pb_valid"] is True and metrics["pb_failed"] == [] and metrics["pb_poses_checked"] == 5
    assert metrics["pb_valid_poses"] == 5, prediction.raw["posebusters"]  # every redocked pose is plausible
    assert prediction.raw["posebusters"]["level"] == ["full"] * 5
    supplier = Chem.SDMolSupplier()
    supplier.SetData(prediction.files["poses.sdf"][0].decode())
    poses = [m for m in supplier]
    assert [m.GetDoubleProp("vina_score_kcal_mol") for m in poses] == sorted(
        m.GetDoubleProp("vina_score_kcal_mol") for m in poses
    )
    crystal = Chem.MolFromMolBlock(CRYSTAL)
    # DOCKING.md §6: the top pose of this redock is 0.6–1.6 Å from the crystal pose
    assert rdMolAlign.CalcRMS(Chem.RemoveHs(poses[0]), crystal) < 2.0
    complex_cif = gemmi.cif.read_string(prediction.files["complex.cif"][0].decode()).sole_block()
    structure = gemmi.make_structure_from_block(complex_cif)
    assert [c.name for c in structure[0]] == ["A", "B", "L"]
    assert len(structure[0]["L"][0]) == crystal.GetNumAtoms()


def test_one_engine_serves_the_batch_and_a_bad_ligand_fails_alone(docking, params):
    protein = ProteinIn(sequence=SEQUENCE, structure=RECEPTOR)
    docking.predict(protein, task("CCO", "ethanol"), params)
    starts = docking._engine.starts
    with pytest.raises(PredictionFailed, match="ligand preparation: unsupported element"):
        docking.predict(protein, task("OB(O)c1ccccc1", "boronic"), params)
    docking.predict(protein, task("c1ccccc1Br", "bromobenzene"), params)
    assert docking._engine.starts == starts  # maps reused, no restart


def test_a_ligand_past_its_timeout_is_killed_and_the_next_one_docks(tmp_path):
    receptor = prepare_receptor(RECEPTOR, reference_center(CRYSTAL), guard_a=10.0)
    path = tmp_path / "receptor.pdbqt"
    path.write_text(receptor.pdbqt)
    engine = DockingEngine(str(path), reference_center(CRYSTAL), (22.0, 22.0, 22.0), seed=42)
    try:
        slow = prepare_ligand("CCCCCCCCCCCCCCCCCCCCCCCC(=O)O", seed=42)  # 22 torsions
        with pytest.raises(DockingError, match="timed out after 0.5 s docking"):
            engine.dock(slow, exhaustiveness=32, n_poses=9, timeout_s=0.5)
        docked = engine.dock(prepare_ligand("CCO", seed=42), exhaustiveness=1, n_poses=3, timeout_s=60)
        assert docked.scores[0] < 0 and engine.starts == 2
        with pytest.raises(DockingError, match="PDBQT parsing error"):
            engine.dock("garbage\n", exhaustiveness=1, n_poses=1, timeout_s=60)
        with pytest.raises(DockingError, match="empty ligand"):
            engine.dock("  ", exhaustiveness=1, n_poses=1, timeout_s=60)
    finally:
        engine.close()
