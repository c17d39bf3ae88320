"""What one RFantibody design job takes: framework, epitope, loop lengths, design counts, the
settings of its three steps and the filters applied to RF2's scores."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from omtx.predictors.rfantibody.inputs import (
    Hotspot,
    InputProblem,
    LoopSpec,
    check_framework,
    format_hotspots,
    format_loops,
    parse_hotspots,
    parse_loops,
)

# The frameworks of the preprint's campaigns, shipped in the repository (README, "Input Preparation").
BUILTIN_FRAMEWORK_CHAINS: dict[str, tuple[str, ...]] = {"nanobody": ("H",), "scfv": ("H", "L")}
# The loop ranges of the README's examples: the nanobody pipeline script and the scFv RFdiffusion example.
DEFAULT_LOOPS = {"nanobody": "H1:7,H2:6,H3:5-13", "scfv": "H1:7,H2:6,H3:5-13,L1:8-13,L2:7,L3:9-11"}

RmsdMetric = Literal[
    "target_aligned_antibody_rmsd",
    "target_aligned_cdr_rmsd",
    "framework_aligned_antibody_rmsd",
    "framework_aligned_cdr_rmsd",
]


class RfantibodyParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    framework: Literal["nanobody", "scfv"] = Field(
        "nanobody", description="built-in HLT framework: h-NbBCII10 (nanobody) or hu-4D5-8 Fv (scFv)"
    )
    framework_pdb: str | None = Field(
        None,
        max_length=2_000_000,
        description="a custom HLT framework (chains H/L, CDRs as REMARK PDBinfo-LABEL lines); replaces `framework`",
    )
    hotspots: str = Field(
        description='target residues the CDRs should contact: chain letter + residue number, e.g. "T305,T456"'
    )
    design_loops: str | None = Field(
        None,
        description='CDRs to design and their lengths, e.g. "H1:7,H2:6,H3:5-13" (NAME: keeps the length); '
        "unlisted loops stay fixed. Default: the README's ranges for the framework",
    )
    num_designs: int = Field(10, ge=1, le=200, description="RFdiffusion backbones (docks) per job")
    seqs_per_struct: int = Field(4, ge=1, le=32, description="ProteinMPNN sequences per backbone")
    mpnn_temperature: float = Field(0.2, gt=0.0, le=1.0, description="ProteinMPNN sampling temperature")
    diffuser_t: int = Field(50, ge=15, le=200, description="RFdiffusion timesteps")
    num_recycles: int = Field(10, ge=1, le=30, description="RF2 recycling iterations")
    hotspot_show_prop: float = Field(0.1, ge=0.0, le=1.0, description="share of hotspots RF2 is shown")
    deterministic: bool = Field(False, description="seeded RFdiffusion and ProteinMPNN (reproducible designs)")
    rf2_seed: int | None = Field(None, ge=0, le=2**31 - 1, description="RF2 random seed")
    # README "Filtering Strategies": RF2 pAE < 10, RMSD (design versus RF2 prediction) < 2 Å.
    max_pae: float = Field(10.0, gt=0.0, le=40.0, description="filter: RF2 pAE must be below this (Å)")
    pae_metric: Literal["pae", "interaction_pae"] = Field(
        "pae", description="which RF2 pAE the filter reads: whole-complex mean, or antibody–target pairs only"
    )
    max_rmsd: float = Field(2.0, gt=0.0, le=20.0, description="filter: design-vs-RF2 RMSD must be below this (Å)")
    rmsd_metric: RmsdMetric = Field("target_aligned_antibody_rmsd", description="which RF2 RMSD the filter reads")
    return_structures: Literal["passing", "best", "all"] = Field(
        "passing", description="which RF2 models to store as PDB files (the best one is always stored)"
    )
    timeout_s: int = Field(3600, ge=60, le=5 * 3600, description="wall-clock budget for the three steps of one job")

    @field_validator("hotspots")
    @classmethod
    def _hotspots(cls, value: str) -> str:
        return format_hotspots(parse_hotspots(value))

    @field_validator("design_loops")
    @classmethod
    def _loops(cls, value: str | None) -> str | None:
        return None if value is None else format_loops(parse_loops(value))

    @model_validator(mode="after")
    def _loops_fit_framework(self) -> Self:
        if self.framework_pdb is not None:
            try:
                summary = check_framework(self.framework_pdb)
            except InputProblem as exc:
                raise ValueError(f"framework_pdb: {exc}") from None
            chains, labelled = summary.chains, tuple(summary.labels)
            default = ",".join(f"{name}:" for name in labelled)
        else:
            chains = BUILTIN_FRAMEWORK_CHAINS[self.framework]
            labelled = tuple(n for n in ("H1", "H2", "H3", "L1", "L2", "L3") if n[0] in chains)
            default = DEFAULT_LOOPS[self.framework]
        # Resolved here so the stored parameters (and the result cache key) say what actually ran.
        self.design_loops = self.design_loops or default
        for loop in self.loops:
            if loop.name[0] not in chains:
                kind = "the custom framework" if self.framework_pdb else f"the {self.framework} framework"
                raise ValueError(f"design loop {loop.name} needs chain {loop.name[0]}, which {kind} does not have")
            if loop.name not in labelled:
                raise ValueError(f"design loop {loop.name} is not labelled in the framework")
        return self

    @property
    def hotspot_list(self) -> tuple[Hotspot, ...]:
        return parse_hotspots(self.hotspots)

    @property
    def loops(self) -> tuple[LoopSpec, ...]:
        assert self.design_loops is not None  # resolved by the model validator
        return parse_loops(self.design_loops)
