"""The rdkit_props predictor: one ligand's drug-likeness descriptors, computed by RDKit, and one
embedded 3D conformer (ETKDGv3, optionally MMFF-minimised) as SDF."""

from __future__ import annotations

from pydantic import BaseModel
from rdkit import Chem
from rdkit.Chem import QED, AllChem, Crippen, Descriptors, Lipinski, rdMolDescriptors

from omtx.domain import ProteinIn
from omtx.predictors.base import LigandTask, Prediction, PredictionFailed, StructureView
from omtx.predictors.rdkit_props.params import RdkitPropsParams


def lipinski_violations(mw: float, clogp: float, hbd: int, hba: int) -> int:
    return sum((mw > 500, clogp > 5, hbd > 5, hba > 10))


# The ligand's ETKDGv3 conformer, alone: shown in the report, not a pose to check.
STRUCTURE = StructureView("structure.sdf", kind="molecule")


class RdkitProps:
    def predict(self, protein: ProteinIn, ligand: LigandTask, params: BaseModel) -> Prediction:
        assert isinstance(params, RdkitPropsParams)
        mol = Chem.MolFromSmiles(ligand.canonical_smiles)
        if mol is None:
            raise PredictionFailed(f"RDKit could not parse {ligand.canonical_smiles!r}")
        mw = Descriptors.MolWt(mol)
        clogp = Crippen.MolLogP(mol)
        hbd = Lipinski.NumHDonors(mol)
        hba = Lipinski.NumHAcceptors(mol)
        violations = lipinski_violations(mw, clogp, hbd, hba)
        metrics = {
            "canonical_smiles": Chem.MolToSmiles(mol),
            "inchikey": Chem.MolToInchiKey(mol),
            "formula": rdMolDescriptors.CalcMolFormula(mol),
            "mw": round(mw, 3),
            "clogp": round(clogp, 3),
            "tpsa": round(rdMolDescriptors.CalcTPSA(mol), 2),
            "hbd": hbd,
            "hba": hba,
            "rotatable_bonds": rdMolDescriptors.CalcNumRotatableBonds(mol),
            "heavy_atoms": mol.GetNumHeavyAtoms(),
            "qed": round(QED.qed(mol), 4),
            "lipinski_violations": violations,
            "lipinski_pass": violations <= 1,
        }
        sdf, energy = self._conformer(mol, ligand.name, params)
        metrics["mmff_energy"] = energy
        return Prediction(metrics=metrics, files={STRUCTURE.file: (sdf.encode(), "chemical/x-mdl-sdfile")})

    @staticmethod
    def _conformer(mol: Chem.Mol, name: str, params: RdkitPropsParams) -> tuple[str, float | None]:
        molh = Chem.AddHs(mol)
        options = AllChem.ETKDGv3()
        options.randomSeed = params.seed
        if AllChem.EmbedMolecule(molh, options) != 0:
            # Macrocycles and strained systems sometimes need random starting coordinates.
            options.useRandomCoords = True
            if AllChem.EmbedMolecule(molh, options) != 0:
                raise PredictionFailed("3D embedding failed (ETKDGv3, also with random coordinates)")
        energy: float | None = None
        if params.optimize and AllChem.MMFFHasAllMoleculeParams(molh):
            props = AllChem.MMFFGetMoleculeProperties(molh)
            field = AllChem.MMFFGetMoleculeForceField(molh, props)
            field.Minimize(maxIts=500)
            energy = round(field.CalcEnergy(), 3)
        molh.SetProp("_Name", name)
        return Chem.MolToMolBlock(molh) + "$$$$\n", energy


def create() -> RdkitProps:
    return RdkitProps()
