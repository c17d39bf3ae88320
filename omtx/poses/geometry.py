"""PoseBusters' distance-geometry test (bond lengths, bond angles, internal clash), vectorised.

PoseBusters 0.6.5 computes it with a pandas row-wise `apply` over every atom pair of every pose:
about 0.14 s a pose for a nucleoside, three quarters of the whole check and a quarter of a Vina
job at exhaustiveness 4 (benchmarks/campaign_docking.py). The verdict depends on the pose only
through its distances, so the pair classification and the distance bounds (a function of the
molecule's graph) are computed once per molecule and each pose costs one distance matrix.

`check_geometry` keeps PoseBusters' signature and answers the same `results` (the same keys,
counts and ratios; tests/unit/test_pose_geometry.py compares the two on docked, stretched,
bent and clashing poses), so the packaged configuration and thresholds apply unchanged."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np
from rdkit import Chem
from rdkit.Chem.rdDistGeom import GetMoleculeBoundsMatrix

# PoseBusters' own parameters of GetMoleculeBoundsMatrix (distance_geometry.bound_matrix_params)
BOUNDS = {"set15bounds": True, "scaleVDW": True, "doTriangleSmoothing": True, "useMacrocycle14config": False}
TERMINAL_GROUP = "[O,N;D1;$([O,N;D1]-[*]=[O,N;D1]),$([O,N;D1]=[*]-[O,N;D1])]~[*]"
EMPTY: dict[str, Any] = dict.fromkeys(
    [
        "number_bonds",
        "shortest_bond_relative_length",
        "longest_bond_relative_length",
        "number_short_outlier_bonds",
        "number_long_outlier_bonds",
        "bond_lengths_within_bounds",
        "number_angles",
        "most_extreme_relative_angle",
        "number_outlier_angles",
        "bond_angles_within_bounds",
        "number_noncov_pairs",
        "shortest_noncovalent_relative_distance",
        "number_clashes",
        "no_internal_clash",
    ],
    np.nan,
)


@dataclass(frozen=True)
class Pairs:
    """A molecule's heavy-atom pairs (i < j) by kind, with their distance bounds."""

    i: np.ndarray[Any, Any]
    j: np.ndarray[Any, Any]
    lower: np.ndarray[Any, Any]
    upper: np.ndarray[Any, Any]
    bond: np.ndarray[Any, Any]
    angle: np.ndarray[Any, Any]  # the ends of a bond angle, not bonded to each other


def check_geometry(
    mol_pred: Chem.Mol,
    threshold_bad_bond_length: float = 0.2,
    threshold_clash: float = 0.2,
    threshold_bad_angle: float = 0.2,
    bound_matrix_params: dict[str, Any] | None = None,
    ignore_hydrogens: bool = True,
    sanitize: bool = True,
    symmetrize_conjugated_terminal_groups: bool = True,
) -> dict[str, Any]:
    """PoseBusters' `check_geometry` on the first conformer, same arguments, same results."""
    results = dict(EMPTY)
    if mol_pred.GetNumConformers() == 0:
        return {"results": results}
    if mol_pred.GetNumAtoms() == 1:
        return {"results": results | dict.fromkeys(_VERDICTS, True)}
    mol = copy.deepcopy(mol_pred)
    if sanitize:
        try:
            if Chem.SanitizeMol(mol) != Chem.SanitizeFlags.SANITIZE_NONE:
                return {"results": results}
        except Exception:
            return {"results": results}
    params = tuple(sorted((bound_matrix_params or BOUNDS).items()))
    try:
        pairs = _pairs(mol, params, ignore_hydrogens, symmetrize_conjugated_terminal_groups)
    except RuntimeError:  # RDKit's bounds failed, as PoseBusters allows for
        return {"results": results}
    xyz = mol.GetConformer().GetPositions()
    distance = np.linalg.norm(xyz[pairs.i] - xyz[pairs.j], axis=1)
    lower, upper = pairs.lower, pairs.upper

    bond = pairs.bond
    d, lb, ub = distance[bond], lower[bond], upper[bond]
    error = np.where(d < lb, (d - lb) / lb, np.where(d > ub, (d - ub) / ub, 0.0))
    results["number_bonds"] = int(bond.sum())
    results["number_short_outlier_bonds"] = int((error < -threshold_bad_bond_length).sum())
    results["number_long_outlier_bonds"] = int((error > threshold_bad_bond_length).sum())
    results["number_valid_bonds"] = (
        results["number_bonds"] - results["number_short_outlier_bonds"] - results["number_long_outlier_bonds"]
    )
    results["bond_lengths_within_bounds"] = results["number_valid_bonds"] == results["number_bonds"]
    results["shortest_bond_relative_length"] = _min(d / lb)
    results["longest_bond_relative_length"] = _max(d / ub)

    angle = pairs.angle
    d, lb, ub = distance[angle], lower[angle], upper[angle]
    error = np.where(d < lb, np.abs((d - lb) / lb), np.where(d > ub, np.abs((d - ub) / ub), 0.0))
    results["number_angles"] = int(angle.sum())
    results["number_outlier_angles"] = int((error > threshold_bad_angle).sum())
    results["number_valid_angles"] = results["number_angles"] - results["number_outlier_angles"]
    results["bond_angles_within_bounds"] = results["number_valid_angles"] == results["number_angles"]
    # Python's max, as PoseBusters has it: a NaN first argument wins, a NaN second one loses
    results["most_extreme_relative_angle"] = max(2 - _min(d / lb), _max(d / ub))

    other = ~(pairs.bond | pairs.angle)
    d, lb = distance[other], lower[other]
    error = np.where(d >= lb, 0.0, (d - lb) / lb)
    results["number_noncov_pairs"] = int(other.sum())
    results["number_clashes"] = int((error < -threshold_clash).sum())
    results["number_valid_noncov_pairs"] = results["number_noncov_pairs"] - results["number_clashes"]
    results["no_internal_clash"] = results["number_valid_noncov_pairs"] == results["number_noncov_pairs"]
    results["shortest_noncovalent_relative_distance"] = _min(d / lb)
    return {"results": results}


_VERDICTS = ("bond_angles_within_bounds", "bond_lengths_within_bounds", "no_internal_clash")


def _graph_key(mol: Chem.Mol) -> tuple[Any, ...]:
    """What the bounds depend on: the atoms in index order and the bonds, not the coordinates."""
    atoms = tuple(
        (a.GetAtomicNum(), a.GetFormalCharge(), a.GetTotalNumHs(), a.GetIsAromatic(), a.GetHybridization())
        for a in mol.GetAtoms()
    )
    bonds = tuple((b.GetBeginAtomIdx(), b.GetEndAtomIdx(), b.GetBondType()) for b in mol.GetBonds())
    return atoms, bonds


_KNOWN: dict[tuple[Any, ...], Pairs] = {}  # per graph; a worker docks a few distinct ligands at a time
KNOWN_GRAPHS = 256


def _pairs(mol: Chem.Mol, params: tuple[Any, ...], no_h: bool, symmetrize: bool) -> Pairs:
    key = (_graph_key(mol), params, no_h, symmetrize)
    if (found := _KNOWN.get(key)) is None:
        if len(_KNOWN) >= KNOWN_GRAPHS:
            _KNOWN.clear()
        found = _KNOWN[key] = _compute(mol, params, no_h, symmetrize)
    return found


def _compute(mol: Chem.Mol, params: tuple[Any, ...], no_h: bool, symmetrize: bool) -> Pairs:
    n = mol.GetNumAtoms()
    bounds = GetMoleculeBoundsMatrix(mol, **dict(params))
    j, i = np.tril_indices(n, k=-1)  # i < j; the lower triangle holds the lower bounds
    lower, upper = bounds[j, i].astype(float), bounds[i, j].astype(float)
    bonded = {tuple(sorted((b.GetBeginAtomIdx(), b.GetEndAtomIdx()))) for b in mol.GetBonds()}
    ends = set()
    for centre in mol.GetAtoms():
        neighbours = sorted(a.GetIdx() for a in centre.GetNeighbors())
        ends |= {(a, b) for k, a in enumerate(neighbours) for b in neighbours[k + 1 :]}
    pair_list = list(zip(i.tolist(), j.tolist(), strict=True))
    bond = np.array([p in bonded for p in pair_list], dtype=bool)
    angle = np.array([p in ends for p in pair_list], dtype=bool) & ~bond
    if symmetrize:
        _symmetrize(mol, pair_list, lower, upper)
    keep = np.ones(len(pair_list), dtype=bool)
    if no_h:
        hydrogen = np.array([a.GetAtomicNum() == 1 for a in mol.GetAtoms()], dtype=bool)
        keep = ~(hydrogen[i] | hydrogen[j])
    return Pairs(i[keep], j[keep], lower[keep], upper[keep], bond[keep], angle[keep])


def _symmetrize(
    mol: Chem.Mol, pairs: list[tuple[int, int]], lower: np.ndarray[Any, Any], upper: np.ndarray[Any, Any]
) -> None:
    """Conjugated terminal groups (carboxylate, nitro, amidine ends): each pair of elements takes
    the widest bounds of its kind, so which O holds the double bond does not matter."""
    matches = {tuple(sorted(m)) for m in mol.GetSubstructMatches(Chem.MolFromSmarts(TERMINAL_GROUP))}
    groups: dict[tuple[str, str], list[int]] = {}
    for row, (a, b) in enumerate(pairs):
        if (a, b) in matches:
            kinds = tuple(sorted((mol.GetAtomWithIdx(a).GetSymbol(), mol.GetAtomWithIdx(b).GetSymbol())))
            groups.setdefault(kinds, []).append(row)  # type: ignore[arg-type]
    for rows in groups.values():
        lower[rows], upper[rows] = lower[rows].min(), upper[rows].max()


def _min(values: np.ndarray[Any, Any]) -> float:
    return float(np.nanmin(values)) if len(values) and not np.isnan(values).all() else np.nan


def _max(values: np.ndarray[Any, Any]) -> float:
    return float(np.nanmax(values)) if len(values) and not np.isnan(values).all() else np.nan
