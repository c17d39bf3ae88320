"""`vina`: AutoDock Vina 1.2 docking on CPU (meeko + RDKit preparation, gemmi output).

The receptor is prepared and its affinity maps computed once per worker process for each
(receptor, box) pair, then reused by every ligand of every chunk that process runs; each ligand
docks in a killable engine process (omtx/docking/engine.py)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from omtx.docking.box import Vec3, reference_center
from omtx.docking.engine import DockingEngine, DockingError
from omtx.docking.ligand import VINA_ELEMENTS, LigandPrepError, prepare_ligand
from omtx.docking.receptor import Receptor, ReceptorError, prepare_receptor
from omtx.domain import ProteinIn
from omtx.predictors.base import CostModel, LigandTask, Limits, ModelSpec, Prediction, PredictionFailed

Axis = Field(ge=8.0, le=40.0)


class VinaParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    center: tuple[float, float, float] | None = Field(None, description="box centre (Å); or give reference_sdf")
    reference_sdf: str | None = Field(
        None, max_length=200_000, description="a reference ligand (MOL/SDF block); the box is centred on its atoms"
    )
    # 22 Å: smaller boxes sized on a fragment leave drug-sized ligands no room (DOCKING.md §5)
    size: tuple[float, float, float] = Field((22.0, 22.0, 22.0), description="box edge lengths (Å), 8–40 each")
    exhaustiveness: int = Field(8, ge=1, le=64)
    n_poses: int = Field(9, ge=1, le=20)
    seed: int = Field(42, ge=1, le=2**31 - 1, description="Vina and ETKDG seed (Vina treats 0 as random)")
    timeout_s: float = Field(600.0, ge=5.0, le=3600.0, description="per ligand; the engine is killed past it")
    pocket_guard_a: float = Field(
        10.0, ge=0.0, le=30.0, description="refuse when residues with missing atoms lie this close to the box centre"
    )
    cpu: int = Field(0, ge=0, le=64, description="Vina threads per ligand; 0 = all cores")

    @model_validator(mode="after")
    def _one_box_source(self) -> Self:
        if (self.center is None) == (self.reference_sdf is None):
            raise ValueError("give exactly one of center or reference_sdf to place the docking box")
        if any(not 8.0 <= edge <= 40.0 for edge in self.size):
            raise ValueError("each box edge must be 8–40 Å")
        if self.reference_sdf is not None:
            reference_center(self.reference_sdf)  # a clear error at submit, not on the worker
        return self

    def box_center(self) -> Vec3:
        if self.center is not None:
            return self.center
        assert self.reference_sdf is not None
        return reference_center(self.reference_sdf)


def load_structure(source: str) -> str:
    """Structure text from the request, or from Cloud Storage when submit stored it there."""
    if source.startswith("gs://"):
        from omtx.gcp import storage

        return storage.get_bytes(source).decode()
    return source


class VinaDocking:
    def __init__(self) -> None:
        self._key: str | None = None
        self._engine: DockingEngine | None = None
        self._receptor: Receptor | None = None
        self._workdir = tempfile.mkdtemp(prefix="omtx-vina-")

    def _engine_for(self, protein: ProteinIn, params: VinaParams) -> tuple[DockingEngine, Receptor]:
        if protein.structure is None:
            raise PredictionFailed("vina needs a receptor structure (protein.structure)")
        center = params.box_center()
        key = hashlib.sha256(
            repr((protein.structure, center, params.size, params.seed, params.cpu)).encode()
        ).hexdigest()
        if key != self._key or self._engine is None or self._receptor is None:
            if self._engine is not None:
                self._engine.close()
            self._engine = self._receptor = self._key = None
            try:
                receptor = prepare_receptor(load_structure(protein.structure), center, params.pocket_guard_a)
            except ReceptorError as exc:
                raise PredictionFailed(f"receptor: {exc}") from exc
            path = os.path.join(self._workdir, f"{key[:16]}.pdbqt")
            with open(path, "w") as handle:
                handle.write(receptor.pdbqt)
            self._engine = DockingEngine(path, center, params.size, params.seed, params.cpu)
            self._receptor, self._key = receptor, key
        return self._engine, self._receptor

    def predict(self, protein: ProteinIn, ligand: LigandTask, params: BaseModel) -> Prediction:
        from omtx.docking.outputs import complex_mmcif, poses_sdf, poses_to_mols

        assert isinstance(params, VinaParams)
        engine, receptor = self._engine_for(protein, params)
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
        metrics = {
            "vina_score": round(best, 3),
            "n_poses": len(docked.scores),
            # a positive best score: no pose fits the box without clashes
            "fits_box": best < 0,
            "dock_seconds": round(docked.seconds, 2),
            "receptor_deleted_residues": len(receptor.deleted),
        }
        return Prediction(
            metrics=metrics,
            files={
                "poses.sdf": (poses_sdf(poses, docked.scores, ligand.name).encode(), "chemical/x-mdl-sdfile"),
                "complex.cif": (complex_mmcif(receptor.pdb, poses[0], ligand.name).encode(), "chemical/x-mmcif"),
                "poses.pdbqt": (docked.poses_pdbqt.encode(), "text/plain"),
            },
            raw={"scores_kcal_mol": docked.scores, "receptor_deleted_residues": list(receptor.deleted)},
            log=captured.getvalue(),
        )


def check_structure(protein: ProteinIn, params: BaseModel) -> str | None:
    """Prepares the receptor as the worker will (about 1 s), so submit can refuse it up front."""
    assert isinstance(params, VinaParams) and protein.structure is not None
    try:
        prepare_receptor(load_structure(protein.structure), params.box_center(), params.pocket_guard_a)
    except ReceptorError as exc:
        return str(exc)
    return None


def create() -> VinaDocking:
    return VinaDocking()


SPEC = ModelSpec(
    name="vina",
    version="vina-1.2.7-meeko-0.8.0",
    description="AutoDock Vina docking (CPU): best poses, Vina score (kcal/mol), complex mmCIF",
    params=VinaParams,
    chunk_size=8,
    hardware="cpu",
    predictor="omtx.predictors.vina:create",
    primary_metric="vina_score",
    higher_is_better=False,
    # DOCKING.md §7: drug-sized ligands take 15–60 s at exhaustiveness 8 on 2 cores; above ~60
    # heavy atoms a ligand needs minutes and 1.5 GB
    limits=Limits(max_heavy_atoms=80, warn_heavy_atoms=50, allowed_elements=VINA_ELEMENTS),
    cost=CostModel(seconds_per_ligand=30.0, startup_s=5.0, hardware="cpu", usd_per_second=0.0000262),
    needs_structure=True,
    check_structure="omtx.predictors.vina:check_structure",
    # Modal CPU containers of 2 cores
    max_calls_in_flight=100,
)
