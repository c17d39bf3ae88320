"""The demo batch: human CDK2 against CDK2 ligands from the set that ships inside the RDKit wheel
(rdkit/Contrib/Fastcluster/cdk2.smi, 47 ZINC compounds)."""

from __future__ import annotations

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
