"""What an instant job may ask for: only how often to fail, so a load test can put failures
through the pipeline on purpose."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class InstantParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fail_every: int = Field(0, ge=0, description="fail every n-th ligand by index (0: never), to exercise failures")
