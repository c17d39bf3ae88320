"""What a Boltz-2 job may ask for: the `boltz predict` options a batch can set, with the ranges
and defaults the platform allows. Validated at submit, so a bad value is refused before any GPU
starts."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from omtx.predictors.msa_cache import MsaChoice


class Boltz2Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recycling_steps: int = Field(3, ge=1, le=10, description="trunk recycling steps")
    sampling_steps: int = Field(200, ge=10, le=1000, description="diffusion steps of the structure pass")
    diffusion_samples: int = Field(1, ge=1, le=25, description="structures sampled; the best by confidence is kept")
    step_scale: float = Field(1.5, ge=0.5, le=5.0, description="diffusion step scale; lower gives more diverse samples")
    affinity: bool = Field(True, description="run the affinity module (binder probability and log10 IC50)")
    sampling_steps_affinity: int = Field(200, ge=10, le=1000, description="diffusion steps of the affinity pass")
    diffusion_samples_affinity: int = Field(5, ge=1, le=25, description="samples averaged by the affinity pass")
    affinity_mw_correction: bool = Field(False, description="Boltz-2's molecular-weight correction of the value")
    use_potentials: bool = Field(False, description="inference-time steering potentials (slower, fewer clashes)")
    msa: MsaChoice = "colabfold"
    max_msa_seqs: int = Field(8192, ge=1, le=16384, description="MSA rows used")
    seed: int = Field(42, ge=0, le=2**31 - 1)
