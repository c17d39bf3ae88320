"""The triage a chunk model runs before it starts its tool: every ligand gets a file-safe record
name, and those the tool would drop or refuse are failed at once with the reason.

Boltz-2 skips a ligand it cannot read with only a log line, and Chai-1 drops one and folds the
protein alone (research/MODELS.md A.8, B.2): without this step such a ligand would fail late,
with a vague reason, or not at all. Both models check the same two things, that RDKit reads the
SMILES and that its heavy-atom count fits the model, so that rule lives here once."""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Sequence

from omtx.predictors.base import LigandTask, Outcome, PredictionFailed

# A model's reason to refuse a ligand of this many heavy atoms, or None when it fits.
HeavyAtomCheck = Callable[[int], str | None]


def record_stems(tasks: Sequence[LigandTask]) -> dict[str, LigandTask]:
    """The tools name every output after its input file's stem: one filesystem-safe, unique stem
    per ligand."""
    stems: dict[str, LigandTask] = {}
    for task in tasks:
        base = re.sub(r"[^A-Za-z0-9_-]", "_", task.job_id)[:64] or "ligand"
        stem, n = base, 1
        while stem in stems:
            n += 1
            stem = f"{base}_{n}"
        stems[stem] = task
    return stems


def smiles_problem(smiles: str, heavy_atoms: HeavyAtomCheck) -> str | None:
    """Why the model cannot take this ligand: RDKit cannot read it, or `heavy_atoms` refuses its
    size. None when it can."""
    # Imported on use: importing a model, as the registry does, does not load RDKit.
    from rdkit import Chem

    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return f"RDKit could not parse {smiles!r}"
    return heavy_atoms(mol.GetNumHeavyAtoms())


def triage(
    ligands: Sequence[LigandTask], problem: Callable[[str], str | None]
) -> Generator[Outcome, None, dict[str, LigandTask]]:
    """Yields the failure of every ligand `problem` refuses (by its SMILES), as soon as it is
    known, and returns the rest by record stem: `runnable = yield from triage(...)`."""
    runnable: dict[str, LigandTask] = {}
    for stem, task in record_stems(ligands).items():
        reason = problem(task.canonical_smiles)
        if reason:
            yield task, PredictionFailed(reason)
        else:
            runnable[stem] = task
    return runnable
