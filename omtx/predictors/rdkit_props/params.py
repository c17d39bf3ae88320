"""What an rdkit_props job may ask for: the conformer's seed, so it is reproducible, and whether
to minimise it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class RdkitPropsParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seed: int = Field(42, ge=0, le=2**31 - 1, description="ETKDG random seed, for reproducible conformers")
    optimize: bool = Field(True, description="MMFF94-minimise the embedded conformer")
