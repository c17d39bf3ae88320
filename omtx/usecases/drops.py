"""Drops: a library file (CSV, SMILES, SDF) written under drops/ in the inputs bucket becomes a
batch, and its outcome is written back beside it as <file name>.result.json. The same object
generation (with the same request beside it) never creates two batches, however often its
notification is delivered.

A SMILES or SD file has no place for the protein: `screen.request.json` beside `screen.smi`
names it (and the model, parameters, ...). The two may arrive in either order: a library whose
file names no protein and has no request yet is answered `waiting`, and the request's arrival
submits every library of its stem. Dropping the request again resubmits them."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any, NamedTuple

from google.api_core import exceptions as gexc
from pydantic import BaseModel, ValidationError

from omtx import drops
from omtx.errors import Conflict, InputError, TransientError
from omtx.gcp import storage
from omtx.gcp.clients import storage_client
from omtx.libraries import EXTENSIONS, format_of, stem_of
from omtx.settings import get_settings
from omtx.tenancy.keys import check_tenant_name
from omtx.usecases.libraries import read_library_request, submit_library

CHUNK = 1 << 20


class Beside(NamedTuple):
    """The request found beside a library."""

    request: drops.LibraryRequest
    filename: str  # as the user named it, for messages
    version: str  # gs://…#generation: which request a batch was made with


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
        or name.endswith(drops.RESULT_SUFFIX)  # our own answers live beside the drops
        # `.`/`..`/empty segments name no folder of a tenant (and a filesystem-backed bucket
        # would resolve them): never ingested, nothing written beside them
        or any(part in ("", ".", "..") for part in name.split("/"))
    ):
        return "ignored"
    if name.endswith(drops.REQUEST_SUFFIX):
        return _request_arrived(event)
    return str(_library(event.bucket, name, event.generation, event.size)["status"])


def _library(bucket: str, name: str, generation: str, size: int | None) -> dict[str, Any]:
    """Reads, submits and answers one library drop; its result file is written."""
    for _ in range(2):
        result: dict[str, Any] = {"source": storage.gcs_uri(bucket, name), "generation": generation}
        try:
            result |= _submit(bucket, name, generation, size)
        except drops.MissingRequest as exc:
            wanted = drops.request_name(name)
            result |= {
                "status": "waiting",
                "waiting_for": wanted,
                "message": f"{exc}: drop {wanted.rsplit('/', 1)[-1]} beside it (protein, model, params; see "
                "docs/api.md) and this file is submitted then",
            }
        except drops.DropError as exc:
            result |= {"status": "error", "error": str(exc)}
        storage.put_json(bucket, drops.result_name(name), result)
        # A request that arrived while this file was read may have looked for it too early: look
        # again after answering `waiting`, so one of the two always sees the other.
        if result["status"] != "waiting" or not storage_client().bucket(bucket).blob(drops.request_name(name)).exists():
            return result
    return result


def _submit(bucket: str, name: str, generation: str, size: int | None) -> dict[str, Any]:
    settings = get_settings()
    kind = format_of(name)
    if kind is None:
        raise drops.DropError(
            f"only {', '.join(EXTENSIONS)} files become batches (and <name>{drops.REQUEST_SUFFIX} names the "
            "protein and model of a library with the same name)"
        )
    # An SD file is streamed, so only its own limit holds it; a table is read whole
    limit = settings.max_drop_sdf_bytes if kind == "sdf" else settings.max_drop_bytes
    if size is not None and size > limit:
        raise drops.DropError(f"the file is {size} bytes; {kind} drops are limited to {limit}")
    tenant = drop_tenant(name)
    beside = _request(bucket, name)
    source = storage.gcs_uri(bucket, name)
    key = f"drop:{source}#{generation}" + (f"+{beside.version}" if beside else "")
    try:
        parsed = drops.parse(
            _chunks(bucket, name, generation),
            name,
            beside.request if beside else None,
            beside.filename if beside else "the request",
            max_rows=settings.max_ligands,
        )
    except gexc.NotFound:
        raise drops.DropError(f"generation {generation} no longer exists (overwritten or deleted)") from None
    answer: dict[str, Any] = {"format": parsed.library.format, "encoding": parsed.library.encoding}
    answer |= {"request": beside.version} if beside else {}
    try:
        # The object generation (and its request's) is the idempotency key: a redelivery replays the first outcome.
        outcome = submit_library(parsed.request, tenant, library=parsed.library, idempotency_key=key)
    except InputError as exc:
        notes = [{"loc": ["library"], "msg": w, "input": None} for w in parsed.library.warnings]
        return answer | {"status": "rejected", "error": str(exc), "errors": exc.details, "warnings": notes}
    except Conflict:
        # The same generation is being handled by an earlier delivery: it writes the result.
        raise TransientError(f"{source}#{generation} is already being ingested") from None
    return answer | {
        "status": "accepted",
        "batch_id": outcome.batch_id,
        "accepted": outcome.accepted,
        "rejected": outcome.rejected,
        "errors": outcome.rejected_rows,
        "warnings": outcome.warnings,
        "estimate": outcome.estimate.model_dump(),
    }


def _chunks(bucket: str, name: str, generation: str) -> Iterator[bytes]:
    """The object's generation, a chunk at a time: an SD file is never held whole."""
    with _blob(bucket, name, generation).open("rb", chunk_size=CHUNK) as reader:
        while data := reader.read(CHUNK):
            yield data


def _request(bucket: str, library: str) -> Beside | None:
    """The request beside a library; DropError when it is unreadable."""
    name = drops.request_name(library)
    blob = storage_client().bucket(bucket).get_blob(name)
    if blob is None:
        return None
    if (blob.size or 0) > get_settings().max_drop_bytes:
        raise drops.DropError(f"{name} is {blob.size} bytes; limited to {get_settings().max_drop_bytes}")
    try:
        data = blob.download_as_bytes(if_generation_match=blob.generation)
    except (gexc.NotFound, gexc.PreconditionFailed):
        raise TransientError(f"{name} changed while it was read") from None
    filename = name.rsplit("/", 1)[-1]
    return Beside(read_library_request(data, filename), filename, f"{storage.gcs_uri(bucket, name)}#{blob.generation}")


def _request_arrived(event: Notification) -> str:
    """Every library of the request's stem is submitted with it; the request's own result file
    lists them, or says that none has arrived yet, or why the request cannot be read."""
    name, bucket = event.object_id, event.bucket
    stem = name.removesuffix(drops.REQUEST_SUFFIX)
    libraries = [
        blob
        for blob in storage_client().list_blobs(bucket, prefix=stem + ".")
        if format_of(blob.name) and stem_of(blob.name) == stem
    ]
    statuses = {blob.name: _library(bucket, blob.name, str(blob.generation), blob.size)["status"] for blob in libraries}
    result: dict[str, Any] = {"source": storage.gcs_uri(bucket, name), "generation": event.generation}
    try:
        read_library_request(_blob(bucket, name, event.generation).download_as_bytes(), name.rsplit("/", 1)[-1])
    except gexc.NotFound:
        result |= {"status": "error", "error": f"generation {event.generation} no longer exists"}
    except drops.DropError as exc:
        result |= {"status": "error", "error": str(exc)}
    if "status" not in result and not statuses:
        extensions = "/".join(EXTENSIONS)
        result |= {"status": "waiting", "message": f"no library {stem.rsplit('/', 1)[-1]}{{{extensions}}} yet"}
    result = {"status": "used"} | result | {"libraries": statuses}
    storage.put_json(bucket, drops.result_name(name), result)
    return str(result["status"])


def _blob(bucket: str, name: str, generation: str) -> Any:
    return storage_client().bucket(bucket).blob(name, generation=int(generation or 0) or None)


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
