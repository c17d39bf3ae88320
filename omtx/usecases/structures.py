"""Structures a tenant uploads or names: stored in its own content-addressed folder, and read
back only when the caller owns them (the policy lives in omtx/structures.py)."""

from __future__ import annotations

import hashlib

from google.api_core import exceptions as gexc
from pydantic import BaseModel

from omtx import structures
from omtx.domain import ProteinIn
from omtx.errors import InputError
from omtx.gcp import storage
from omtx.gcp.firestore import batches as batch_store
from omtx.gcp.firestore import jobs as job_store
from omtx.settings import get_settings

LOC = ["protein", "structure"]


class StructureStored(BaseModel):
    uri: str
    sha256: str
    format: str
    bytes: int


def _refused(uri: str, message: str = structures.NOT_YOURS) -> InputError:
    return InputError("the batch has invalid input", [{"loc": LOC, "msg": message, "input": uri}])


def store_text(tenant: str, text: str) -> StructureStored:
    """Idempotent: the same file uploaded twice is one object."""
    stored = structures.for_text(tenant, text)
    data = text.encode()
    uri = storage.put_bytes(
        get_settings().inputs_bucket,
        stored.name,
        data,
        "chemical/x-mmcif" if stored.suffix == "cif" else "chemical/x-pdb",
        create_only=True,
    )
    return StructureStored(uri=uri, sha256=stored.digest, format=stored.suffix, bytes=len(data))


def with_text(protein: ProteinIn, tenant: str) -> ProteinIn:
    """The protein with its structure as text: a `gs://` reference is read only when the caller
    owns the object, and every other reference is refused with one message (InputError)."""
    uri = protein.structure
    if uri is None or not uri.startswith("gs://"):
        return protein
    return protein.model_copy(update={"structure": _read_owned(uri, tenant)})


def _read_owned(uri: str, tenant: str) -> str:
    settings = get_settings()
    stored = structures.parse_stored(uri, settings.inputs_bucket)
    if stored is not None and stored.tenant == tenant:
        data = _read(uri)
        if data is None:
            # The caller's own folder: saying it is missing reveals nothing about anyone else.
            raise _refused(uri, "no structure is stored at this URI (upload it again with POST /v1/structures)")
        if hashlib.sha256(data).hexdigest() != stored.digest:
            raise _refused(uri, "the stored structure does not match its sha256: upload it again")
        return _decoded(uri, data)
    job_file = structures.parse_job_file(uri, settings.results_bucket)
    if job_file is not None and _owns_job_file(job_file, uri, tenant):
        data = _read(uri)
        if data is not None:
            return _decoded(uri, data)
    raise _refused(uri)


def _owns_job_file(ref: structures.JobFileRef, uri: str, tenant: str) -> bool:
    batch = batch_store.get_batch(ref.batch_id)
    if batch is None or batch.tenant != tenant:
        return False
    job = job_store.get_job(ref.batch_id, ref.job_id)
    return job is not None and job.files.get(ref.name) == uri


def _read(uri: str) -> bytes | None:
    try:
        return storage.get_bytes(uri)
    except (gexc.NotFound, gexc.Forbidden):
        return None


def _decoded(uri: str, data: bytes) -> str:
    try:
        return data.decode()
    except UnicodeDecodeError:
        raise _refused(uri, "the object is not a PDB or mmCIF text file") from None
