"""JSON Schemas of the events, generated from the pydantic models and kept in the repository
(schemas/events/) for subscribers. `python -m omtx.schemas` rewrites them; a test checks they
are current."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from omtx.events import BatchDone, CampaignDone, Event, JobDone, JobsDispatched, JobsDone, JobsSubmitted

EVENTS: dict[str, type[Event]] = {
    "jobs-submitted": JobsSubmitted,
    "jobs-dispatched": JobsDispatched,
    "job-done": JobDone,
    "jobs-done": JobsDone,
    "batch-done": BatchDone,
    "campaign-done": CampaignDone,
}
SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas" / "events"


def render(name: str, model: type[Event]) -> str:
    schema = model.model_json_schema(mode="serialization")
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"omtx-hub/events/{name}.schema.json",
        "x-event-type": model.event_type,
        "x-attributes": sorted(
            model.model_fields.keys() & {"batch_id", "campaign_id", "job_id", "status", "tenant", "event_id"}
        )
        + ["event_type", "schema_version"],
    } | schema
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def main() -> None:
    SCHEMA_DIR.mkdir(parents=True, exist_ok=True)
    for name, model in EVENTS.items():
        (SCHEMA_DIR / f"{name}.schema.json").write_text(render(name, model))
    print(f"wrote {len(EVENTS)} schemas to {SCHEMA_DIR}", file=sys.stderr)


if __name__ == "__main__":
    main()
