"""Which stored structures a tenant may name, and where its own are kept.

A batch or job id travels in events, webhooks, logs and shared links, so it must never work as a
read capability. A `gs://` reference in a request is therefore read only when it names one of
two things the caller owns:

- a structure it uploaded, kept content-addressed under its own folder
  (`gs://<inputs bucket>/structures/<tenant>/<sha256>.<pdb|cif>`), and
- a structure file of one of its own batches' jobs (`gs://<results bucket>/batches/<batch>/jobs/
  <job>/<name>.cif|.pdb`), checked against the batch's tenant before anything is read.

Anything else — another tenant's object, another bucket, a malformed URI, `..` — gets the same
answer whether or not the object exists, so a refusal reveals nothing. This module is pure: it
names and recognises objects; the use cases read them."""

from __future__ import annotations

import hashlib
import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

STRUCTURE_SUFFIXES = ("pdb", "cif")
# The whole answer to a reference the caller may not use: never says whether the object exists.
NOT_YOURS = (
    "not a structure you can use: give PDB or mmCIF text, a gs:// URI returned by POST /v1/structures, "
    "or a .cif/.pdb file of one of your own batches' jobs"
)
_TENANT = r"[a-z0-9][a-z0-9-]{1,62}"
_STORED = re.compile(rf"structures/(?P<tenant>{_TENANT})/(?P<digest>[0-9a-f]{{64}})\.(?P<suffix>pdb|cif)")
_JOB_FILE = re.compile(r"batches/(?P<batch_id>b[0-9a-f]{16})/jobs/(?P<job_id>[0-9a-f]{16})/(?P<name>[A-Za-z0-9_.-]+)")


class StoredStructure(BaseModel):
    """A structure in a tenant's content-addressed folder."""

    model_config = ConfigDict(frozen=True)

    tenant: str
    digest: str  # sha256 of the file's bytes: equal files, one object, one cache key
    suffix: str

    @property
    def name(self) -> str:
        return f"structures/{self.tenant}/{self.digest}.{self.suffix}"

    def uri(self, bucket: str) -> str:
        return f"gs://{bucket}/{self.name}"


class JobFileRef(BaseModel):
    """A structure file among a job's outputs; usable only by the job's own tenant."""

    model_config = ConfigDict(frozen=True)

    batch_id: str
    job_id: str
    name: str


def is_mmcif(text: str) -> bool:
    head = text.lstrip()[:200]
    return head.startswith(("data_", "#")) or "\nloop_" in head


def for_text(tenant: str, text: str) -> StoredStructure:
    """Where `tenant` keeps this structure."""
    return StoredStructure(
        tenant=tenant,
        digest=hashlib.sha256(text.encode()).hexdigest(),
        suffix="cif" if is_mmcif(text) else "pdb",
    )


def _object(uri: str, bucket: str) -> str | None:
    """The object name of `uri` when it lies in `bucket` and is written plainly (no `.`/`..`
    segments, no empty segments, no percent-escapes, no query): else None."""
    prefix = f"gs://{bucket}/"
    if not uri.startswith(prefix):
        return None
    name = uri[len(prefix) :]
    segments = name.split("/")
    if any(s in ("", ".", "..") for s in segments) or any(c in name for c in "%?#\\"):
        return None
    return name


def parse_stored(uri: str, bucket: str) -> StoredStructure | None:
    name = _object(uri, bucket)
    match = _STORED.fullmatch(name) if name is not None else None
    return StoredStructure(**match.groupdict()) if match else None


def parse_job_file(uri: str, bucket: str) -> JobFileRef | None:
    name = _object(uri, bucket)
    match = _JOB_FILE.fullmatch(name) if name is not None else None
    if match is None or not match["name"].endswith(tuple(f".{s}" for s in STRUCTURE_SUFFIXES)):
        return None
    return JobFileRef(**match.groupdict())


def usable_by(uri: str, tenant: str, bucket: str) -> StoredStructure | None:
    """The worker's re-check: a work order may only name a structure of its batch's tenant, in
    the form submit stores (a tampered order cannot widen what the worker reads)."""
    stored = parse_stored(uri, bucket)
    return stored if stored is not None and stored.tenant == tenant else None


def text_problem(text: str) -> str | None:
    """Why `text` is not a coordinate file we can store, or None."""
    if is_mmcif(text):
        return None if "_atom_site." in text else "an mmCIF file without _atom_site records"
    if any(line.startswith(("ATOM  ", "HETATM")) for line in text.splitlines()):
        return None
    return "neither PDB (no ATOM or HETATM records) nor mmCIF (no data_ block)"


class StructureUpload(BaseModel):
    """POST /v1/structures: a structure stored once in the caller's folder, to name by URI in
    later batches (a large receptor is then not sent with every request)."""

    model_config = ConfigDict(extra="forbid")

    structure: str = Field(min_length=1, max_length=20_000_000, description="PDB or mmCIF text")

    @field_validator("structure")
    @classmethod
    def _coordinates(cls, value: str) -> str:
        problem = text_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value
