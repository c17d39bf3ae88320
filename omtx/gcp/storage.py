"""Objects in Cloud Storage: inputs, per-job outputs and batch results."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from google.api_core import exceptions as gexc

from omtx import metrics
from omtx.gcp.clients import storage_client


def gcs_uri(bucket: str, name: str) -> str:
    return f"gs://{bucket}/{name}"


def split_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("gs://"):
        raise ValueError(f"not a gs:// URI: {uri!r}")
    bucket, _, name = uri[5:].partition("/")
    return bucket, name


def put_bytes(bucket: str, name: str, data: bytes, content_type: str, *, create_only: bool = False) -> str:
    """Upload; with create_only an existing object is kept (idempotent retries, never overwrites)."""
    blob = storage_client().bucket(bucket).blob(name)
    try:
        blob.upload_from_string(data, content_type=content_type, if_generation_match=0 if create_only else None)
    except gexc.PreconditionFailed:
        pass
    metrics.count("gcs.writes")
    return gcs_uri(bucket, name)


def copy(source_uri: str, bucket: str, name: str) -> str:
    """Server-side copy (no bytes through this process)."""
    source_bucket, source_name = split_uri(source_uri)
    client = storage_client()
    client.bucket(source_bucket).copy_blob(client.bucket(source_bucket).blob(source_name), client.bucket(bucket), name)
    metrics.count("gcs.writes")
    return gcs_uri(bucket, name)


def put_json(bucket: str, name: str, payload: Any, *, create_only: bool = False) -> str:
    data = json.dumps(payload, separators=(",", ":"), default=str).encode()
    return put_bytes(bucket, name, data, "application/json", create_only=create_only)


def put_file(bucket: str, name: str, path: Path, content_type: str) -> str:
    storage_client().bucket(bucket).blob(name).upload_from_filename(str(path), content_type=content_type)
    metrics.count("gcs.writes")
    return gcs_uri(bucket, name)


def get_bytes(uri: str) -> bytes:
    bucket, name = split_uri(uri)
    data: bytes = storage_client().bucket(bucket).blob(name).download_as_bytes()
    return data


def get_bytes_if_written_since(uri: str, since: datetime) -> bytes | None:
    """The object's bytes if it exists and was last written at or after `since`, else None."""
    bucket, name = split_uri(uri)
    blob = storage_client().bucket(bucket).get_blob(name)
    if blob is None or blob.updated is None or blob.updated < since:
        return None
    try:
        data: bytes = blob.download_as_bytes(if_generation_match=blob.generation)
    except (gexc.NotFound, gexc.PreconditionFailed):
        return None  # replaced or deleted since it was looked at: the next look decides
    return data


def exists(uri: str) -> bool:
    bucket, name = split_uri(uri)
    return bool(storage_client().bucket(bucket).blob(name).exists())


def open_reader(uri: str, chunk_size: int = 1 << 20) -> tuple[Iterator[bytes], str | None, int | None]:
    """A streaming reader of an object: (chunks, content type, size). Missing → FileNotFoundError."""
    bucket, name = split_uri(uri)
    blob = storage_client().bucket(bucket).get_blob(name)
    if blob is None:
        raise FileNotFoundError(uri)

    def chunks() -> Iterator[bytes]:
        with blob.open("rb", chunk_size=chunk_size) as reader:
            while data := reader.read(chunk_size):
                yield data

    return chunks(), blob.content_type, blob.size
