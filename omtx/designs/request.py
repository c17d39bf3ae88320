"""POST /v1/designs: what an antibody or nanobody design campaign asks for. No ligand anywhere:
a target chain and its epitope, a framework, the CDRs to design and how many designs."""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from omtx.predictors.rfantibody.params import RfantibodyParams

# RfantibodyParams' fields a request names at its top level (or that submit sets per job).
CAMPAIGN_FIELDS = {"framework", "framework_pdb", "hotspots", "design_loops", "num_designs", "rf2_seed"}
# Every design's complex structure is kept: each design row links to its own PDB.
DESIGN_DEFAULTS: dict[str, Any] = {"return_structures": "all"}


def _settings_fields() -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, info in RfantibodyParams.model_fields.items():
        if name in CAMPAIGN_FIELDS:
            continue
        copied = info._copy()
        if name in DESIGN_DEFAULTS:
            copied.default = DESIGN_DEFAULTS[name]
        fields[name] = (info.annotation, copied)
    return fields


# The pipeline settings of RfantibodyParams, generated from it so the two never drift.
PipelineSettings: type[BaseModel] = create_model(
    "PipelineSettings",
    __config__=ConfigDict(extra="forbid"),
    __doc__="The three steps' settings and the published filters (RfantibodyParams).",
    **_settings_fields(),
)


class DesignTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    structure: str = Field(
        min_length=1,
        max_length=20_000_000,
        description="PDB or mmCIF text, or a gs:// URI of a structure you own (POST /v1/structures)",
    )
    chain: str = Field(
        pattern=r"^[A-Za-z]$",
        description="the chain to design against; RFantibody names hotspots by a chain letter",
    )


class DesignRequest(BaseModel):
    """One design campaign against one epitope."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "anti-target nanobodies",
                    "target": {"structure": "gs://omtx-inputs/structures/acme/<sha256>.pdb", "chain": "A"},
                    "hotspots": ["A305", "A456"],
                    "framework": "nanobody",
                    "design_loops": "H1:7,H2:6,H3:5-13",
                    "num_designs": 200,
                    "settings": {"seqs_per_struct": 4, "max_pae": 10.0},
                }
            ]
        },
    )

    name: str | None = Field(None, max_length=200)
    target: DesignTarget
    hotspots: list[str] = Field(
        min_length=1,
        max_length=50,
        description="epitope residues the CDRs should contact: residue numbers of the target chain, "
        'optionally after its letter ("305" or "A305"); each must be a surface residue',
    )
    framework: Literal["nanobody", "scfv", "custom"] = Field(
        "nanobody",
        description="h-NbBCII10 (nanobody), hu-4D5-8 Fv (scfv), or custom: framework_pdb in HLT format",
    )
    framework_pdb: str | None = Field(
        None,
        max_length=2_000_000,
        description="with framework=custom: an HLT PDB (chains H and/or L, CDRs as REMARK PDBinfo-LABEL lines)",
    )
    design_loops: str | None = Field(
        None,
        description='CDRs to design and their length ranges, e.g. "H1:7,H2:6,H3:5-13"; default: the '
        "README's ranges for the framework (custom: every labelled loop, at its length)",
    )
    num_designs: int = Field(
        ge=1, le=10_000, description="RFdiffusion backbones in all; each gets settings.seqs_per_struct sequences"
    )
    seed: int | None = Field(None, ge=0, le=2**31 - 1_000_000, description="base seed; job n runs with seed + n")
    settings: PipelineSettings = Field(default_factory=PipelineSettings)  # type: ignore[valid-type,unused-ignore]
    labels: dict[str, str] = Field(default_factory=dict, max_length=64)
    webhook_url: str | None = Field(None, max_length=2048, description="as for batches: milestones and completion")

    @model_validator(mode="after")
    def _framework_pdb_with_custom(self) -> Self:
        if (self.framework == "custom") != (self.framework_pdb is not None):
            raise ValueError("give framework_pdb exactly when framework is custom")
        return self
