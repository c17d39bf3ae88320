"""Counter-shard change (Firestore event) → finalise the batch exactly once. Target `aggregate`."""

import logging

import functions_framework
from cloudevents.http import CloudEvent
from pydantic import ValidationError

from omtx.envelopes import document_change
from omtx.errors import PermanentError
from omtx.logs import setup_logging
from omtx.usecases.aggregate import ShardState, on_counter_change

setup_logging()
log = logging.getLogger(__name__)


@functions_framework.cloud_event
def aggregate(event: CloudEvent) -> None:
    try:
        change = document_change(event)
        if change.value is None:
            return  # a deleted shard (batch deletion) finalises nothing
        shard = ShardState.model_validate(change.value)
        before = ShardState.model_validate(change.old_value) if change.old_value else None
    except (PermanentError, ValidationError) as exc:
        # Eventarc would retry a crash for 24 h; a malformed event can never succeed.
        log.error("aggregate ignored an undecodable event %s: %s", event["id"], exc)
        return
    on_counter_change(shard, before)  # logs its outcome in the batch's trace
