"""What Chai-1 leaves in its output directory, read back as one ligand's result
(research/MODELS.md B.4, A.8).

The best of the samples by `aggregate_score` (scores.model_idx_<i>.npz; the files are not
sorted) is reported with its structure. Chai-1 silently drops a ligand it cannot tokenize and
folds the protein alone, so a result without the ligand chain is a failure. Its own clash flag
only counts pairs of polymer chains (never set for one protein and one ligand); protein–ligand
atom pairs closer than 1.1 Å are counted from `chain_chain_clashes` and flagged beside it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from omtx.predictors.base import Prediction, PredictionFailed, StructureView
from omtx.predictors.chai1.inputs import LIGAND_CHAIN, PROTEIN_CHAIN

SCORES = re.compile(r"^scores\.model_idx_(\d+)\.npz$")
SCORE_KEYS = (
    "aggregate_score",
    "ptm",
    "iptm",
    "per_chain_ptm",
    "per_chain_pair_iptm",
    "has_inter_chain_clashes",
    "chain_chain_clashes",
)
# Chains in order of the FASTA; index 0 is the protein, 1 the ligand.
PROTEIN, LIGAND = 0, 1
# The best sample's complex: the report shows it, PoseBusters checks its ligand.
STRUCTURE = StructureView("structure.cif")


def load_scores(out_dir: Path) -> dict[int, dict[str, Any]]:
    """Every sample's scores by model index, each array without its batch axis."""
    import numpy as np

    samples: dict[int, dict[str, Any]] = {}
    for path in out_dir.glob("scores.model_idx_*.npz"):
        match = SCORES.match(path.name)
        if not match:
            continue
        with np.load(path) as npz:
            missing = [key for key in SCORE_KEYS if key not in npz.files]
            if missing:
                raise PredictionFailed(f"Chai-1 scores {path.name} lack {', '.join(missing)}")
            samples[int(match[1])] = {key: npz[key][0] for key in SCORE_KEYS}
    return samples


def best_sample(samples: dict[int, dict[str, Any]]) -> int:
    """Highest aggregate_score; the lowest index among equals, so the choice is stable."""
    return max(sorted(samples), key=lambda idx: float(samples[idx]["aggregate_score"]))


def atom_table(cif_text: str) -> list[tuple[str, str, float]]:
    """(group_PDB, label_asym_id, B_iso) of every atom of an mmCIF text."""
    import gemmi

    block = gemmi.cif.read_string(cif_text).sole_block()
    rows = block.find("_atom_site.", ["group_PDB", "label_asym_id", "B_iso_or_equiv"])
    return [(row[0], row[1], float(row[2])) for row in rows]


def parse_output(out_dir: Path, *, log: str = "") -> Prediction:
    samples = load_scores(out_dir)
    if not samples:
        raise PredictionFailed("Chai-1 wrote no scores.model_idx_*.npz")
    best = best_sample(samples)
    scores = samples[best]
    cif_path = out_dir / f"pred.model_idx_{best}.cif"
    if not cif_path.is_file():
        raise PredictionFailed(f"Chai-1 wrote scores but no structure pred.model_idx_{best}.cif")
    cif = cif_path.read_text()
    atoms = atom_table(cif)
    ligand_b = [b for group, chain, b in atoms if chain == LIGAND_CHAIN and group == "HETATM"]
    if len(scores["per_chain_ptm"]) < 2 or not ligand_b:
        raise PredictionFailed(
            f"the ligand is missing from Chai-1's output (no chain {LIGAND_CHAIN}): Chai-1 drops a ligand it "
            "cannot tokenize or embed and folds the protein alone"
        )
    protein_b = [b for _, chain, b in atoms if chain == PROTEIN_CHAIN]
    clashes = int(scores["chain_chain_clashes"][PROTEIN][LIGAND])
    chai_flag = bool(scores["has_inter_chain_clashes"])
    metrics: dict[str, Any] = {
        "aggregate_score": _f(scores["aggregate_score"]),
        "ptm": _f(scores["ptm"]),
        "iptm": _f(scores["iptm"]),
        # pTM of the ligand's tokens in the protein's frames (per_chain_pair_iptm[query, key]).
        "ligand_iptm": _f(scores["per_chain_pair_iptm"][PROTEIN][LIGAND]),
        "protein_ptm": _f(scores["per_chain_ptm"][PROTEIN]),
        # The npz has no pLDDT; the structure carries per-atom pLDDT × 100 as B-factors.
        "complex_plddt": round(sum(b for *_, b in atoms) / len(atoms) / 100, 4),
        "ligand_plddt": round(sum(ligand_b) / len(ligand_b) / 100, 4),
        "protein_plddt": round(sum(protein_b) / len(protein_b) / 100, 4) if protein_b else None,
        "has_inter_chain_clashes": chai_flag,
        "protein_ligand_clashes": clashes,
        "has_clashes": chai_flag or clashes > 0,
        "best_sample": best,
    }
    raw = {
        "best_sample": best,
        "samples": {str(idx): _plain(sample) for idx, sample in sorted(samples.items())},
    }
    return Prediction(metrics=metrics, files={STRUCTURE.file: (cif.encode(), "chemical/x-mmcif")}, raw=raw, log=log)


def _f(value: Any) -> float:
    return round(float(value), 4)


def _plain(sample: dict[str, Any]) -> dict[str, Any]:
    """numpy values as JSON-ready numbers and lists."""
    return {key: value.tolist() for key, value in sample.items()}
