"""How exposed a target residue is: relative solvent-accessible surface area (rSASA).

Method: RDKit's binding of FreeSASA (`rdkit.Chem.rdFreeSASA`, Lee–Richards, ProtOr radii, 1.4 Å
probe), on the heavy atoms of the target as RFantibody will see it (the target chain alone).
A residue's rSASA is its SASA in the chain divided by the SASA of the same atoms alone. Dividing
by the residue's own atoms, not by a table of maximum areas (Tien et al. 2013), keeps the ratio
honest for models with truncated side chains or missing atoms, which targets cut for design often
are: a residue missing half its atoms is not reported as half buried.

Threshold: below MIN_RELATIVE_SASA a residue is buried and cannot be contacted by a CDR loop.
0.16 is Rost & Sander's (1994) two-state buried/exposed cut; a hotspot only has to be reachable,
so the lenient end of the usual 0.1–0.25 range, not the stricter "surface residue" cut of 0.25.
RDKit is already a core dependency (chemistry), so this adds nothing to install."""

from __future__ import annotations

from collections.abc import Iterable

from rdkit import Chem, RDLogger
from rdkit.Chem import rdFreeSASA

MIN_RELATIVE_SASA = 0.16


def _heavy_atom_lines(pdb: str) -> list[str]:
    return [
        line
        for line in pdb.splitlines()
        if line.startswith("ATOM") and line[76:78].strip() != "H" and not line[12:16].strip().startswith("H")
    ]


def _per_atom_sasa(lines: list[str]) -> list[tuple[tuple[str, int], float]]:
    RDLogger.DisableLog("rdApp.*")  # type: ignore[attr-defined]  # the PDB parser warns about every unusual record
    mol = Chem.MolFromPDBBlock("\n".join(lines) + "\nEND\n", removeHs=False, sanitize=False, proximityBonding=False)
    if mol is None or mol.GetNumAtoms() == 0:
        return []
    radii = rdFreeSASA.classifyAtoms(mol)
    rdFreeSASA.CalcSASA(mol, radii)
    out = []
    for atom in mol.GetAtoms():
        info = atom.GetPDBResidueInfo()
        out.append(((info.GetChainId(), info.GetResidueNumber()), float(atom.GetProp("SASA"))))
    return out


def relative_sasa(pdb: str, residues: Iterable[tuple[str, int]]) -> dict[tuple[str, int], float]:
    """rSASA of each (chain, residue number) asked for that the PDB has; the rest are left out."""
    lines = _heavy_atom_lines(pdb)
    wanted = set(residues)
    in_context: dict[tuple[str, int], float] = {}
    for key, area in _per_atom_sasa(lines):
        if key in wanted:
            in_context[key] = in_context.get(key, 0.0) + area
    result = {}
    for key in in_context:
        own = [line for line in lines if line[21:22].strip() == key[0] and int(line[22:26]) == key[1]]
        alone = sum(area for _, area in _per_atom_sasa(own))
        result[key] = in_context[key] / alone if alone > 0 else 0.0
    return result
