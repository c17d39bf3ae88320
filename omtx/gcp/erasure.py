"""Deleting every object under a prefix: what deleting a batch does in Cloud Storage."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from google.api_core import exceptions as gexc

from omtx import metrics
from omtx.gcp.clients import storage_client

DELETE_THREADS = 8


def delete_prefix(bucket: str, prefix: str) -> int:
    """Deletes the objects under `prefix`; returns how many. Idempotent: an object already gone
    (a repeated or concurrent delete) is not an error. Object by object, in parallel: the JSON
    batch endpoint would save requests in production, but fake-gcs-server does not speak it."""
    if not prefix.endswith("/"):
        raise ValueError(f"prefix {prefix!r} must end with '/': it would match its siblings too")
    blobs = list(storage_client().list_blobs(bucket, prefix=prefix))

    def delete(blob: Any) -> int:
        try:
            blob.delete()
        except gexc.NotFound:
            return 0
        return 1

    with ThreadPoolExecutor(max_workers=DELETE_THREADS, thread_name_prefix="omtx-erase") as pool:
        deleted = sum(pool.map(delete, blobs))
    metrics.count("gcs.deletes", deleted)
    return deleted
