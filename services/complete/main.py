"""`job-done` → record each job once and bump its counter shard; `webhooks` → one attempt at a
batch's webhook delivery (short outbound calls, like completions). Target `complete`."""

import functions_framework
from cloudevents.http import CloudEvent
from pydantic import TypeAdapter

from omtx.events import JobDone, JobsDone, WebhookDue
from omtx.handlers import event_type, handle_pubsub
from omtx.logs import setup_logging
from omtx.usecases.complete import record_jobs_done
from omtx.webhooks.deliver import deliver

setup_logging()
COMPLETION = TypeAdapter(JobsDone | JobDone)


@functions_framework.cloud_event
def complete(event: CloudEvent) -> None:
    if event_type(event) == WebhookDue.event_type:
        handle_pubsub("webhooks", event, WebhookDue, deliver)
    else:
        handle_pubsub("complete", event, COMPLETION, record_jobs_done)
