"""`submitted` → claim jobs and start them on the executor (or, for a large batch, write a range's
jobs and publish its chunks). functions-framework target `dispatch`."""

from typing import Any

import functions_framework
from cloudevents.http import CloudEvent

from omtx.events import JobsSubmitted
from omtx.handlers import handle_pubsub
from omtx.logs import setup_logging
from omtx.usecases.dispatch import on_submitted

setup_logging()


@functions_framework.cloud_event
def dispatch(event: CloudEvent) -> Any:
    handle_pubsub("dispatch", event, JobsSubmitted, on_submitted)
