"""One client of each kind per process, created on first use (never at import time). Each
library is imported inside its factory: a process loads only the libraries it uses."""

from __future__ import annotations

import os
from functools import cache
from typing import TYPE_CHECKING

from omtx.settings import get_settings

if TYPE_CHECKING:
    from google.cloud import firestore, pubsub_v1, storage  # type: ignore[attr-defined]


@cache
def firestore_client() -> firestore.Client:
    from google.cloud import firestore

    return firestore.Client(project=get_settings().project)


@cache
def storage_client() -> storage.Client:
    from google.cloud import storage  # type: ignore[attr-defined]  # untyped package

    emulator = os.environ.get("STORAGE_EMULATOR_HOST")
    if emulator:
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials

        return storage.Client(
            project=get_settings().project,
            credentials=AnonymousCredentials(),
            client_options=ClientOptions(api_endpoint=emulator),
        )
    return storage.Client(project=get_settings().project)


@cache
def publisher_client() -> pubsub_v1.PublisherClient:
    from google.cloud import pubsub_v1  # type: ignore[attr-defined]  # untyped package

    return pubsub_v1.PublisherClient(
        batch_settings=pubsub_v1.types.BatchSettings(max_messages=500, max_latency=0.005),
        publisher_options=pubsub_v1.types.PublisherOptions(
            flow_control=pubsub_v1.types.PublishFlowControl(
                message_limit=5_000,
                limit_exceeded_behavior=pubsub_v1.types.LimitExceededBehavior.BLOCK,
            )
        ),
    )


def reset_clients() -> None:
    """Forget cached clients (tests that point the process at another stack)."""
    for factory in (firestore_client, storage_client, publisher_client):
        factory.cache_clear()
