"""`rdkit_props`: RDKit ligand properties, drug-likeness descriptors and one embedded 3D
conformer (CPU).

This package's `SPEC` is what the platform knows of the model (the registry reads it); `params`
is what a job may ask for and `predictor` computes, with its factory `create`. Importing it
loads RDKit, which every image that imports the registry installs."""

from __future__ import annotations

from omtx.domain import Limits
from omtx.predictors.base import MODAL_CPU_2_CORES_USD_PER_S, CostModel, Metric, ModelSpec
from omtx.predictors.rdkit_props.params import RdkitPropsParams
from omtx.predictors.rdkit_props.predictor import STRUCTURE, RdkitProps, create, lipinski_violations

__all__ = ["SPEC", "RdkitProps", "RdkitPropsParams", "create", "lipinski_violations"]

SPEC = ModelSpec(
    name="rdkit_props",
    version="rdkit-props-1",
    description="RDKit descriptors (MW, cLogP, TPSA, HBD/HBA, QED, Lipinski) and an ETKDGv3 conformer",
    params=RdkitPropsParams,
    chunk_size=8,
    hardware="cpu",
    predictor="omtx.predictors.rdkit_props:create",
    primary_metric="qed",
    higher_is_better=True,
    limits=Limits(max_heavy_atoms=250),
    cost=CostModel(seconds_per_ligand=0.05, startup_s=3.0, hardware="cpu", usd_per_second=MODAL_CPU_2_CORES_USD_PER_S),
    metrics=(
        Metric("qed", "", "quantitative estimate of drug-likeness, 0–1; higher is more drug-like"),
        Metric("mw", "g/mol", "molecular weight (average masses)"),
        Metric("clogp", "", "Crippen logP (octanol/water)"),
        Metric("tpsa", "Å²", "topological polar surface area"),
        Metric("hbd", "", "hydrogen-bond donors (Lipinski)"),
        Metric("hba", "", "hydrogen-bond acceptors (Lipinski)"),
        Metric("rotatable_bonds", "", "rotatable bonds"),
        Metric("heavy_atoms", "", "heavy atoms"),
        Metric("lipinski_violations", "", "rule-of-five violations"),
        Metric("lipinski_pass", "", "at most one rule-of-five violation", "bool"),
        Metric("mmff_energy", "kcal/mol", "MMFF94 energy of the minimised conformer"),
        Metric("canonical_smiles", "", "RDKit's canonical SMILES", "text"),
        Metric("inchikey", "", "InChIKey", "text"),
        Metric("formula", "", "molecular formula", "text"),
    ),
    structure=STRUCTURE,
)
