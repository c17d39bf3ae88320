"""The Vina predictor: docks each ligand into the request's receptor, on CPU.

The receptor is prepared and its affinity maps computed once per worker process for each
(receptor, box) pair, then reused by every ligand of every chunk that process runs; each ligand
docks in a killable engine process (omtx/docking/engine.py). Every pose is then checked with
PoseBusters against the receptor (omtx.poses): the job reports `pb_valid` for its best pose."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile

from pydantic import BaseModel

from omtx.docking.engine import DockingEngine, DockingError
from omtx.docking.ligand import LigandPrepError, prepare_ligand
from omtx.docking.receptor import Receptor, ReceptorError, prepare_receptor
from omtx.domain import ProteinIn
from omtx.poses import ProteinAtoms, check_poses
from omtx.predictors.base import LigandTask, Prediction, PredictionFailed, StructureView
from omtx.predictors.vina.params import VinaParams

# The receptor with the best pose; poses.sdf holds them all.
STRUCTURE = StructureView("complex.cif")


class VinaDocking:
    def __init__(self) -> None:
        self._key: str | None = None
        self._engine: DockingEngine | None = None
        self._receptor: Receptor | None = None
        self._protein: ProteinAtoms | None = None
        self._workdir = tempfile.mkdtemp(prefix="omtx-vina-")

    def _engine_for(self, protein: ProteinIn, params: VinaParams) -> tuple[DockingEngine, Receptor, ProteinAtoms]:
        if protein.structure is None:
            raise PredictionFailed("vina needs a receptor structure (protein.structure)")
        center = params.box_center()
        key = hashlib.sha256(
            repr((protein.structure, center, params.size, params.seed, params.cpu)).encode()
        ).hexdigest()
        if key != self._key or self._engine is None or self._receptor is None:
            if self._engine is not None:
                self._engine.close()
            self._engine = self._receptor = self._protein = self._key = None
            try:
                receptor = prepare_receptor(protein.structure, center, params.pocket_guard_a)
            except ReceptorError as exc:
                raise PredictionFailed(f"receptor: {exc}") from exc
            path = os.path.join(self._workdir, f"{key[:16]}.pdbqt")
            with open(path, "w") as handle:
                handle.write(receptor.pdbqt)
            self._engine = DockingEngine(path, center, params.size, params.seed, params.cpu)
            # PoseBusters checks the poses against the receptor Vina docked into
            self._receptor, self._protein, self._key = receptor, ProteinAtoms.from_pdb(receptor.pdb), key
        assert self._protein is not None
        return self._engine, self._receptor, self._protein

    def predict(self, protein: ProteinIn, ligand: LigandTask, params: BaseModel) -> Prediction:
        from omtx.docking.outputs import complex_mmcif, poses_sdf, poses_to_mols

        assert isinstance(params, VinaParams)
        engine, receptor, receptor_atoms = self._engine_for(protein, params)
        captured = io.StringIO()
        try:
            with contextlib.redirect_stdout(captured):
                pdbqt = prepare_ligand(ligand.canonical_smiles, params.seed)
        except LigandPrepError as exc:
            raise PredictionFailed(f"ligand preparation: {exc}") from exc
        try:
            docked = engine.dock(pdbqt, params.exhaustiveness, params.n_poses, params.timeout_s)
        except DockingError as exc:
            raise PredictionFailed(f"docking: {exc}") from exc
        best = docked.scores[0]
        if best > 100:
            # Vina's scores are not physical here (e.g. an untyped metal gave +5e7): not a result
            raise PredictionFailed(f"implausible Vina score {best:+.1f} kcal/mol; the ligand could not be scored")
        poses = poses_to_mols(docked.poses_pdbqt)
        check = check_poses(poses, ligand.canonical_smiles, receptor_atoms)
        metrics = {
            "vina_score": round(best, 3),
            "n_poses": len(docked.scores),
            # a positive best score: no pose fits the box without clashes
            "fits_box": best < 0,
            "dock_seconds": round(docked.seconds, 2),
            "receptor_deleted_residues": len(receptor.deleted),
            **check.metrics(),
            "pb_seconds": check.seconds,
        }
        return Prediction(
            metrics=metrics,
            files={
                "poses.sdf": (poses_sdf(poses, docked.scores, ligand.name).encode(), "chemical/x-mdl-sdfile"),
                STRUCTURE.file: (complex_mmcif(receptor.pdb, poses[0], ligand.name).encode(), "chemical/x-mmcif"),
                "poses.pdbqt": (docked.poses_pdbqt.encode(), "text/plain"),
            },
            raw={"scores_kcal_mol": docked.scores, "receptor_deleted_residues": list(receptor.deleted)} | check.raw(),
            log=captured.getvalue(),
        )


def check_structure(protein: ProteinIn, params: BaseModel) -> str | None:
    """Prepares the receptor as the worker will (about 1 s), so submit can refuse it up front."""
    assert isinstance(params, VinaParams) and protein.structure is not None
    try:
        prepare_receptor(protein.structure, params.box_center(), params.pocket_guard_a)
    except ReceptorError as exc:
        return str(exc)
    return None


def create() -> VinaDocking:
    return VinaDocking()
