import pytest
from rdkit import Chem

from omtx.domain import ProteinIn
from omtx.predictors.base import LigandTask, PredictionFailed
from omtx.predictors.rdkit_props import RdkitProps, RdkitPropsParams

PROTEIN = ProteinIn(sequence="ACDEFGHIKLMNPQRSTVWY")


def task(smiles: str, name: str = "lig") -> LigandTask:
    return LigandTask(job_id="j1", index=0, name=name, canonical_smiles=smiles)


def test_aspirin_descriptors():
    result = RdkitProps().predict(PROTEIN, task("CC(=O)Oc1ccccc1C(=O)O", "aspirin"), RdkitPropsParams())
    m = result.metrics
    assert m["inchikey"] == "BSYNRYMUTXBXSQ-UHFFFAOYSA-N"
    assert m["formula"] == "C9H8O4"
    assert m["mw"] == pytest.approx(180.159, abs=1e-3)
    assert m["hbd"] == 1 and m["hba"] == 3
    assert m["tpsa"] == pytest.approx(63.6, abs=0.01)
    assert 0.5 < m["qed"] < 0.6
    assert m["lipinski_violations"] == 0 and m["lipinski_pass"] is True


def test_conformer_is_3d_named_and_reproducible():
    params = RdkitPropsParams(seed=7)
    first = RdkitProps().predict(PROTEIN, task("CCN(CC)C(=O)c1ccccc1", "deet"), params)
    again = RdkitProps().predict(PROTEIN, task("CCN(CC)C(=O)c1ccccc1", "deet"), params)
    sdf, media_type = first.files["structure.sdf"]
    assert media_type == "chemical/x-mdl-sdfile"
    assert sdf == again.files["structure.sdf"][0]
    mol = Chem.MolFromMolBlock(sdf.decode(), removeHs=False)
    assert mol.GetProp("_Name") == "deet"
    assert mol.GetConformer().Is3D()
    assert Chem.MolToInchiKey(mol) == first.metrics["inchikey"]
    assert first.metrics["mmff_energy"] is not None


def test_lipinski_violations_are_counted():
    # cyclosporin-like size: MW > 500 and many acceptors
    big = "CC(C)CC1NC(=O)C(C(C)C)N(C)C(=O)C(CC(C)C)N(C)C(=O)C(CC(C)C)N(C)C(=O)C(C)NC(=O)C(C)NC1=O"
    m = RdkitProps().predict(PROTEIN, task(big), RdkitPropsParams(optimize=False)).metrics
    assert m["mw"] > 500
    assert m["lipinski_violations"] >= 1
    assert m["mmff_energy"] is None


def test_unparseable_input_is_a_prediction_failure():
    with pytest.raises(PredictionFailed):
        RdkitProps().predict(PROTEIN, task("not-a-smiles"), RdkitPropsParams())
