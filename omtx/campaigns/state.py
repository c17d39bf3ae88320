"""A campaign as stored: its plan, where its library is, and what each stage that started did."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from omtx.campaigns.plan import StagePlan
from omtx.domain import ProteinIn, utcnow


class CampaignStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self is not CampaignStatus.RUNNING


class StageState(BaseModel):
    """One stage that started: its batch, and once it finished, its outcome."""

    batch_id: str
    selected: int = Field(description="Ligands the selection rule kept for this stage (the library for the first)")
    submitted: int = Field(description="Ligands the stage's batch runs (its model may refuse some selected ones)")
    refused: dict[str, str] = Field(default_factory=dict, description="ligand name → why the model refused it")
    started_at: datetime = Field(default_factory=utcnow)
    status: str | None = None  # the batch's final status, once it finished
    succeeded: int | None = None
    failed: int | None = None
    finished_at: datetime | None = None
    results: dict[str, str] = Field(default_factory=dict)


class Campaign(BaseModel):
    campaign_id: str
    tenant: str
    name: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    protein: ProteinIn  # a structure is stored as its gs:// URI
    stages: list[StagePlan]
    library_uri: str
    library_size: int
    rejected: int = 0
    status: CampaignStatus = CampaignStatus.RUNNING
    reason: str | None = None
    progress: dict[str, StageState] = Field(default_factory=dict, description="stage number → what it did")
    cancel_requested: bool = False
    metered: bool = False  # stage batches are charged to the tenant's budget as they start
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    results: dict[str, str] = Field(default_factory=dict)

    def stage_state(self, n: int) -> StageState | None:
        return self.progress.get(str(n))

    @property
    def current(self) -> int:
        """The last stage that started."""
        return max((int(k) for k in self.progress), default=-1)

    def summary(self) -> dict[str, Any]:
        return {"campaign_id": self.campaign_id, "status": self.status.value, "stage": self.current}
