import json
from datetime import UTC, datetime

import jsonschema
import pytest

from omtx.domain import BatchStatus
from omtx.events import BatchDone, JobDone
from omtx.schemas import EVENTS, SCHEMA_DIR, render


@pytest.mark.parametrize("name", sorted(EVENTS))
def test_published_schemas_are_current(name):
    path = SCHEMA_DIR / f"{name}.schema.json"
    assert path.read_text() == render(name, EVENTS[name]), "run: python -m omtx.schemas"


def test_events_validate_against_their_published_schemas():
    done = BatchDone(
        batch_id="b1",
        event_id=BatchDone.stable_id("b1"),
        tenant="t",
        status=BatchStatus.COMPLETED,
        model="rdkit_props",
        total=2,
        succeeded=2,
        failed=0,
        results={"csv": "gs://r/batches/b1/results/batch_results.csv"},
        finished_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    schema = json.loads((SCHEMA_DIR / "batch-done.schema.json").read_text())
    jsonschema.validate(json.loads(done.to_bytes()), schema)
    assert done.attributes() == {
        "event_type": "batch.done",
        "schema_version": "1",
        "batch_id": "b1",
        "event_id": "b1/batch-done",
        "tenant": "t",
        "status": "completed",
    }
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"batch_id": "b1"}, schema)
    job = JobDone(batch_id="b1", job_id="j1", status="failed", error="embedding failed")
    jsonschema.validate(json.loads(job.to_bytes()), json.loads((SCHEMA_DIR / "job-done.schema.json").read_text()))
