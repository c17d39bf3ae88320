"""What a Vina docking job may ask for: the box (a centre, or a reference ligand to centre it
on), its size, the search settings and the per-ligand time limit. Validated at submit, where a
box that cannot be placed is refused before any worker runs."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from omtx.docking.box import Vec3, reference_center


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
