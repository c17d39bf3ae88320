"""`job-done` → record the job once and bump its counter shard. Target `complete`."""

import functions_framework
from cloudevents.http import CloudEvent

from omtx.events import JobDone
from omtx.handlers import handle_pubsub
from omtx.logs import setup_logging
from omtx.usecases.complete import record_job_done

setup_logging()


@functions_framework.cloud_event
def complete(event: CloudEvent) -> None:
    handle_pubsub("complete", event, JobDone, record_job_done)
