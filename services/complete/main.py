"""`job-done` → record each job once and bump its counter shard. Target `complete`."""

import functions_framework
from cloudevents.http import CloudEvent
from pydantic import TypeAdapter

from omtx.events import JobDone, JobsDone
from omtx.handlers import handle_pubsub
from omtx.logs import setup_logging
from omtx.usecases.complete import record_jobs_done

setup_logging()
COMPLETION = TypeAdapter(JobsDone | JobDone)


@functions_framework.cloud_event
def complete(event: CloudEvent) -> None:
    handle_pubsub("complete", event, COMPLETION, record_jobs_done)
