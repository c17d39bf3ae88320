"""What a Chai-1 job may ask for: the `run_inference` options a batch can set, with the ranges
and defaults the platform allows. Validated at submit, so a bad value is refused before any GPU
starts."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from omtx.predictors.msa_cache import MsaChoice


class Chai1Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    num_trunk_recycles: int = Field(3, ge=1, le=20, description="trunk recycles")
    num_diffn_timesteps: int = Field(200, ge=10, le=1000, description="diffusion steps")
    num_diffn_samples: int = Field(
        5, ge=1, le=25, description="structures sampled; the best by aggregate_score is kept"
    )
    use_esm_embeddings: bool = Field(True, description="ESM2 language-model embeddings of the protein")
    msa: MsaChoice = "colabfold"
    seed: int = Field(42, ge=0, le=2**31 - 1)
