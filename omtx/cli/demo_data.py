"""The demo batches.

- docking (the default): nucleosides and purine bases docked with Vina into 1S2G (purine
  2'-deoxyribosyltransferase), the box placed on its crystal ligand 2'-deoxyadenosine. The
  receptor and ligand files ship in omtx/data (PLINDER 1s2g__1__1.A_2.C__1.D, via the prolif wheel).
- properties: human CDK2 against CDK2 ligands from the set that ships inside the RDKit wheel
  (rdkit/Contrib/Fastcluster/cdk2.smi, 47 ZINC compounds), with the rdkit_props model."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import rdkit

# Human CDK2, UniProt P24941 (298 residues).
CDK2_SEQUENCE = (
    "MENFQKVEKIGEGTYGVVYKARNKLTGEVVALKKIRLDTETEGVPSTAIREISLLKELNHPNIVKLLDVIHTENKLYLVFEFLHQDLKKFMDASALTGIPLPL"
    "IKSYLFQLLQGLAFCHSHRVLHRDLKPQNLLINTEGAIKLADFGLARAFGVPVRTYTHEVVTLWYRAPEILLGCKYYSTAVDIWSLGCIFAEMVTRRALFPGDSE"
    "IDQLFRIFRTLGTPDEVVWPGVTSMPDYKPSFPKWARQDFSKVVPPLDEDGRSLLSQMLHYDPNKRISAKAALAHPFFQDVTKPVPHLRL"
)


def cdk2_ligand_file() -> Path:
    path = Path(rdkit.__file__).parent / "Contrib" / "Fastcluster" / "cdk2.smi"
    if not path.exists():
        raise FileNotFoundError(f"the RDKit wheel no longer ships {path}; pass your own batch to `omtx submit`")
    return path


def cdk2_ligands(n: int) -> list[dict[str, str]]:
    ligands = []
    for line in cdk2_ligand_file().read_text().splitlines():
        parts = line.split()
        if len(parts) >= 2:
            ligands.append({"name": parts[0], "smiles": parts[1]})
    return ligands[:n]


def demo_request(n: int = 20) -> dict[str, Any]:
    return {
        "name": f"CDK2 demo screen ({n} ZINC ligands)",
        "model": "rdkit_props",
        "params": {"seed": 42},
        "protein": {"id": "CDK2_HUMAN", "sequence": CDK2_SEQUENCE},
        "ligands": cdk2_ligands(n),
        "labels": {"source": "omtx-demo"},
    }


# Purine 2'-deoxyribosyltransferase binds nucleosides; the crystal ligand leads the list.
NUCLEOSIDES = (
    ("2'-deoxyadenosine", "Nc1ncnc2c1ncn2[C@H]1C[C@H](O)[C@@H](CO)O1"),
    ("adenosine", "Nc1ncnc2c1ncn2[C@@H]1O[C@H](CO)[C@@H](O)[C@H]1O"),
    ("2'-deoxyguanosine", "Nc1nc2c(ncn2[C@H]2C[C@H](O)[C@@H](CO)O2)c(=O)[nH]1"),
    ("2'-deoxyinosine", "O=c1[nH]cnc2c1ncn2[C@H]1C[C@H](O)[C@@H](CO)O1"),
    ("thymidine", "Cc1cn([C@H]2C[C@H](O)[C@@H](CO)O2)c(=O)[nH]c1=O"),
    ("2'-deoxycytidine", "Nc1ccn([C@H]2C[C@H](O)[C@@H](CO)O2)c(=O)n1"),
    ("2'-deoxyuridine", "O=c1ccn([C@H]2C[C@H](O)[C@@H](CO)O2)c(=O)[nH]1"),
    ("cladribine", "Nc1nc(Cl)nc2c1ncn2[C@H]1C[C@H](O)[C@@H](CO)O1"),
    ("cordycepin", "Nc1ncnc2c1ncn2[C@@H]1O[C@H](CO)C[C@H]1O"),
    ("vidarabine", "Nc1ncnc2c1ncn2[C@@H]1O[C@H](CO)[C@@H](O)[C@@H]1O"),
    ("didanosine", "O=c1[nH]cnc2c1ncn2[C@H]1CC[C@@H](CO)O1"),
    ("2',3'-dideoxyadenosine", "Nc1ncnc2c1ncn2[C@H]1CC[C@@H](CO)O1"),
    ("zidovudine", "Cc1cn([C@H]2C[C@H](N=[N+]=[N-])[C@@H](CO)O2)c(=O)[nH]c1=O"),
    ("adenine", "Nc1ncnc2[nH]cnc12"),
    ("guanine", "Nc1nc2[nH]cnc2c(=O)[nH]1"),
    ("hypoxanthine", "O=c1[nH]cnc2[nH]cnc12"),
    ("6-mercaptopurine", "S=c1nc[nH]c2nc[nH]c12"),
    ("allopurinol", "O=c1[nH]cnc2[nH]ncc12"),
    ("5-fluorouracil", "O=c1[nH]cc(F)c(=O)[nH]1"),
    ("caffeine", "Cn1cnc2c1c(=O)n(C)c(=O)n2C"),
)


def receptor_files() -> tuple[str, str]:
    """The 1S2G receptor (PDB) and its crystal ligand (SDF)."""
    data = resources.files("omtx.data")
    return data.joinpath("1s2g_receptor.pdb").read_text(), data.joinpath("1s2g_ligand.sdf").read_text()


def chain_sequence(pdb_text: str, chain: str = "A") -> str:
    import gemmi

    return str(gemmi.one_letter_code([residue.name for residue in gemmi.read_pdb_string(pdb_text)[0][chain]]))


def docking_request(n: int = 20) -> dict[str, Any]:
    receptor, crystal_ligand = receptor_files()
    return {
        "name": f"1S2G docking demo ({n} nucleosides and purines)",
        "model": "vina",
        # exhaustiveness 4: the redock's top pose is as good as at 8 (DOCKING.md §6), twice as fast
        "params": {"reference_sdf": crystal_ligand, "exhaustiveness": 4, "n_poses": 5, "seed": 42},
        "protein": {"id": "1S2G_A", "sequence": chain_sequence(receptor), "structure": receptor},
        "ligands": [{"name": name, "smiles": smiles} for name, smiles in NUCLEOSIDES[:n]],
        "labels": {"source": "omtx-demo"},
    }


def nci_ligands(n: int) -> list[dict[str, str]]:
    """The first `n` compounds of the NCI Open Database set that ships inside the RDKit wheel
    (rdkit/Data/NCI/first_5K.smi; NCI/DTP compounds, public domain), named by NSC-style index."""
    path = Path(rdkit.__file__).parent / "Data" / "NCI" / "first_5K.smi"
    if not path.exists():
        raise FileNotFoundError(f"the RDKit wheel no longer ships {path}; pass your own campaign to `omtx campaign`")
    ligands = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 2:
            ligands.append({"name": f"NCI-{parts[1]}", "smiles": parts[0]})
    return ligands[:n]


def campaign_request(library: int = 300) -> dict[str, Any]:
    """A funnel on 1S2G: the 20 nucleosides and purines (the enzyme's own chemistry) hidden among
    NCI compounds; RDKit properties on all, a quick Vina dock (exhaustiveness 1) of the 60 most
    drug-like survivors of a property filter, and the best 10 % of the poses that fit the box and
    pass PoseBusters (`pb_valid`) re-docked thoroughly (exhaustiveness 8), checked again."""
    receptor, crystal_ligand = receptor_files()
    box = {"reference_sdf": crystal_ligand, "n_poses": 3, "seed": 42}
    known = [{"name": name, "smiles": smiles} for name, smiles in NUCLEOSIDES]
    return {
        "name": f"1S2G campaign demo ({library} ligands)",
        "protein": {"id": "1S2G_A", "sequence": chain_sequence(receptor), "structure": receptor},
        "ligands": known + nci_ligands(library - len(known)),
        "on_invalid": "skip",
        "stages": [
            {"name": "props", "model": "rdkit_props", "params": {"seed": 42}},
            {
                "name": "dock",
                "model": "vina",
                "params": box | {"exhaustiveness": 1},
                # drug-like and small enough for the pocket, then the 60 most drug-like by QED
                "select": {
                    "where": ["lipinski_pass == true", "mw <= 320", "heavy_atoms >= 8", "rotatable_bonds <= 5"],
                    "top_k": 60,
                    "by": "qed",
                },
            },
            {
                "name": "redock",
                "model": "vina",
                "params": box | {"exhaustiveness": 8},
                "select": {"where": ["fits_box == true", "pb_valid == true"], "top_fraction": 0.1},
            },
        ],
        "labels": {"source": "omtx-demo"},
    }
