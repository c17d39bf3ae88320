"""CSV drops: a file written under drops/ in the inputs bucket becomes a batch, and its outcome is
written back beside it as <name>.result.json. The same object generation never creates two
batches, however often its notification is delivered."""

from __future__ import annotations

import base64
import json
from typing import Any

from google.api_core import exceptions as gexc
from pydantic import BaseModel, ValidationError

from omtx import drops
from omtx.errors import Conflict, InputError, TransientError
from omtx.gcp import storage
from omtx.gcp.clients import storage_client
from omtx.settings import get_settings
from omtx.tenancy.keys import check_tenant_name
from omtx.usecases.submit import submit_batch


class Notification(BaseModel):
    """A Cloud Storage notification (JSON_API_V1) as Pub/Sub pushes it."""

    bucket: str
    object_id: str
    generation: str
    event_type: str
    size: int | None = None

    @classmethod
    def from_push(cls, envelope: Any) -> Notification:
        try:
            message = envelope["message"]
            attributes = message.get("attributes") or {}
            resource = json.loads(base64.b64decode(message.get("data") or "") or b"{}")
            return cls(
                bucket=attributes["bucketId"],
                object_id=attributes["objectId"],
                generation=str(attributes.get("objectGeneration") or resource.get("generation") or ""),
                event_type=attributes.get("eventType", ""),
                size=int(resource["size"]) if resource.get("size") is not None else None,
            )
        except (TypeError, KeyError, ValueError, ValidationError) as exc:
            raise ValueError(f"not a storage notification push: {exc!r}") from exc


def ingest(event: Notification) -> str:
    settings = get_settings()
    name = event.object_id
    if (
        event.event_type != "OBJECT_FINALIZE"
        or event.bucket != settings.inputs_bucket
        or not name.startswith(settings.drops_prefix)
        or name.endswith(".result.json")  # our own answers live beside the drops
        # `.`/`..`/empty segments name no folder of a tenant (and a filesystem-backed bucket
        # would resolve them): never ingested, nothing written beside them
        or any(part in ("", ".", "..") for part in name.split("/"))
    ):
        return "ignored"
    source = storage.gcs_uri(event.bucket, name)
    result: dict[str, Any] = {"source": source, "generation": event.generation}
    try:
        result |= _submit(event, source)
    except drops.DropError as exc:
        result |= {"status": "error", "error": str(exc)}
    storage.put_json(event.bucket, drops.result_name(name), result)
    return str(result["status"])


def _submit(event: Notification, source: str) -> dict[str, Any]:
    settings = get_settings()
    if not event.object_id.lower().endswith(drops.EXTENSIONS):
        raise drops.DropError(f"only {', '.join(drops.EXTENSIONS)} files become batches")
    if event.size is not None and event.size > settings.max_drop_bytes:
        raise drops.DropError(f"the file is {event.size} bytes; drops are limited to {settings.max_drop_bytes}")
    blob = storage_client().bucket(event.bucket).blob(event.object_id, generation=int(event.generation or 0) or None)
    try:
        data = blob.download_as_bytes()
    except gexc.NotFound:
        raise drops.DropError(f"generation {event.generation} no longer exists (overwritten or deleted)") from None
    tenant = drop_tenant(event.object_id)
    parsed = drops.parse(data)
    try:
        # The object generation is the idempotency key: a redelivery replays the first outcome.
        outcome = submit_batch(parsed.request, tenant, idempotency_key=f"drop:{source}#{event.generation}")
    except InputError as exc:
        return {"status": "rejected", "error": str(exc), "errors": _with_lines(exc.details, parsed.lines)}
    except Conflict:
        # The same generation is being handled by an earlier delivery: it writes the result.
        raise TransientError(f"{source}#{event.generation} is already being ingested") from None
    return {
        "status": "accepted",
        "batch_id": outcome.batch_id,
        "accepted": outcome.accepted,
        "rejected": outcome.rejected,
        "errors": _with_lines(outcome.rejected_rows, parsed.lines),
        "warnings": _with_lines(outcome.warnings, parsed.lines),
        "estimate": outcome.estimate.model_dump(),
    }


def drop_tenant(name: str) -> str:
    """drops/<tenant>/file.csv belongs to <tenant>, drops/file.csv to the deployment's default
    tenant. The path, not a header in the file: bucket IAM decides who may write under a prefix,
    and nothing inside a file can claim another tenant."""
    settings = get_settings()
    folder, _, rest = name[len(settings.drops_prefix) :].partition("/")
    if not rest:
        return settings.tenant
    try:
        return check_tenant_name(folder)
    except ValueError as exc:
        raise drops.DropError(f"the folder under {settings.drops_prefix} names the tenant: {exc}") from None


def _with_lines(details: list[dict[str, Any]], lines: list[int]) -> list[dict[str, Any]]:
    """Point ligand rows at the file line a chemist will look for."""
    out = []
    for item in details:
        loc = item.get("loc") or []
        if len(loc) >= 2 and loc[0] == "ligands" and isinstance(loc[1], int) and loc[1] < len(lines):
            item = item | {"line": lines[loc[1]]}
        out.append(item)
    return out
