"""Job documents from validated ligands, and the `submitted` chunks that start them.

Small batches get theirs inside the submit request. Large ones are answered as soon as their
input is stored: submit writes the ligands as ranges and publishes one `submitted` message per
range; dispatch then writes that range's jobs and publishes its chunks, so the first chunks run
while later ranges are still being written."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence

from pydantic import BaseModel

from omtx import structures
from omtx.chemistry.smiles import inchikey
from omtx.domain import Batch, Job, Ligand
from omtx.errors import PermanentError
from omtx.events import JobsSubmitted, LigandRange
from omtx.gcp import pubsub, storage
from omtx.gcp.firestore import batches as batch_store
from omtx.gcp.firestore import jobs as job_store
from omtx.gcp.firestore.common import WRITE_BATCH_LIMIT
from omtx.ids import input_hash, job_id, shard_of
from omtx.predictors.registry import get_model
from omtx.settings import get_settings


class FanOutOutcome(BaseModel):
    created: int
    published: int


def protein_key(batch: Batch) -> str:
    """What identifies the protein in the cache key: its sequence, and its structure's content
    when a model docks into one (the same file uploaded by two tenants gives one key)."""
    protein = batch.protein
    if protein.structure is None:
        return protein.sequence
    stored = structures.parse_stored(protein.structure, get_settings().inputs_bucket)
    return f"{protein.sequence}|sha256:{stored.digest if stored else protein.structure}"


def build_jobs(batch: Batch, ligands: Sequence[Ligand]) -> list[Job]:
    key = protein_key(batch)
    return [
        Job(
            job_id=job_id(batch.batch_id, lig.index),
            batch_id=batch.batch_id,
            model=batch.model,
            tenant=batch.tenant,
            index=lig.index,
            shard=shard_of(lig.index, batch.total, batch.shard_count),
            ligand_name=lig.name,
            smiles=lig.smiles,
            canonical_smiles=lig.canonical_smiles,
            inchikey=inchikey(lig.canonical_smiles),
            input_hash=input_hash(batch.model, batch.model_version, batch.params, key, lig.canonical_smiles),
        )
        for lig in ligands
    ]


def chunk_bounds(total: int, chunk_size: int) -> Iterator[tuple[int, int]]:
    """[start, end) of ceil(total / chunk_size) chunks whose sizes differ by at most one: 20
    ligands in chunks of 8 run as 7+7+6, not 8+8+4, so the last worker call is not the long pole."""
    count = max(1, math.ceil(total / chunk_size))
    base, extra = divmod(total, count)
    start = 0
    for n in range(count):
        end = start + base + (1 if n < extra else 0)
        yield start, end
        start = end


def publish_chunks(batch: Batch, jobs: Sequence[Job], first_chunk: int = 0) -> int:
    chunk_size = get_model(batch.model).chunk_size
    messages = [
        JobsSubmitted(batch_id=batch.batch_id, chunk=first_chunk + n, job_ids=[j.job_id for j in jobs[start:end]])
        for n, (start, end) in enumerate(chunk_bounds(len(jobs), chunk_size))
    ]
    pubsub.publish(get_settings().topic_submitted, messages)
    return len(messages)


# Ranges in flight at once: each range's handler publishes the range FANOUT_STRIDE further on,
# so chunk messages never queue behind a hundred range messages on the same subscription.
FANOUT_STRIDE = 2


def range_bounds(total: int, chunk_size: int) -> list[tuple[int, int]]:
    """Whole chunks per range, so no chunk straddles two; the first range is two chunks, so the
    first worker starts while the rest is still being written."""
    size = max(1, get_settings().fanout_range // chunk_size) * chunk_size
    first = min(size, 2 * chunk_size)
    starts = [0, *range(first, total, size)]
    return [(start, min(total, end)) for start, end in zip(starts, [*starts[1:], total], strict=True)]


def write_groups(chunks: int, per_write: int) -> list[range]:
    """Which chunks each write of write_inline holds: the first two, then `per_write` at a time."""
    groups = [range(min(2, chunks))]
    return groups + [range(i, min(i + per_write, chunks)) for i in range(2, chunks, per_write)]


def write_inline(batch: Batch, ligands: Sequence[Ligand]) -> None:
    """A small batch's jobs, inside the submit request, a few chunks at a time: the batch
    document with its first two chunks' jobs, those chunks published at once, then the jobs and
    chunks of each further write. The first worker starts once ~100 jobs are written instead of
    all 1,000 (their InChIKeys and documents take seconds: a campaign's next stage waited for all
    of it). The chunks are the batch's balanced ones (chunk_bounds), whichever write holds them."""
    chunk_size = get_model(batch.model).chunk_size
    bounds = list(chunk_bounds(len(ligands), chunk_size))
    for group in write_groups(len(bounds), max(1, WRITE_BATCH_LIMIT // chunk_size)):
        first, last = bounds[group[0]][0], bounds[group[-1]][1]
        jobs = build_jobs(batch, ligands[first:last])
        if first == 0:
            batch_store.create_batch(batch, jobs)
        else:
            batch_store.add_jobs(batch.batch_id, jobs)
        chunks = [
            JobsSubmitted(
                batch_id=batch.batch_id,
                chunk=c,
                job_ids=[j.job_id for j in jobs[bounds[c][0] - first : bounds[c][1] - first]],
            )
            for c in group
        ]
        pubsub.publish(get_settings().topic_submitted, chunks)


def write_ranges(batch_id: str, ligands: Sequence[Ligand], chunk_size: int) -> list[LigandRange]:
    settings = get_settings()
    ranges = []
    for start, end in range_bounds(len(ligands), chunk_size):
        part = ligands[start:end]
        uri = storage.put_bytes(
            settings.inputs_bucket,
            f"batches/{batch_id}/ranges/{start:07d}.json",
            json.dumps({"ligands": [lig.model_dump() for lig in part]}).encode(),
            "application/json",
        )
        ranges.append(LigandRange(start=start, end=start + len(part), uri=uri))
    # The manifest lets the reconciler publish the ranges again if a message is ever lost.
    storage.put_json(
        settings.inputs_bucket, manifest_name(batch_id), {"ranges": [r.model_dump() for r in ranges]}, create_only=True
    )
    return ranges


def manifest_name(batch_id: str) -> str:
    return f"batches/{batch_id}/ranges/manifest.json"


def read_manifest(batch_id: str) -> list[LigandRange] | None:
    uri = storage.gcs_uri(get_settings().inputs_bucket, manifest_name(batch_id))
    if not storage.exists(uri):
        return None
    return [LigandRange.model_validate(r) for r in json.loads(storage.get_bytes(uri))["ranges"]]


def republish_ranges(batch: Batch) -> int:
    """Publishes every range of a batch whose jobs are not all written; 0 when it has none."""
    ranges = read_manifest(batch.batch_id)
    if ranges is None or job_store.count_jobs(batch.batch_id) >= batch.total:
        return 0
    publish_ranges(batch.batch_id, ranges)
    return len(ranges)


def publish_ranges(batch_id: str, ranges: Sequence[LigandRange]) -> None:
    """At submit, the first FANOUT_STRIDE ranges; each handled range then starts the next."""
    pubsub.publish(
        get_settings().topic_submitted,
        [JobsSubmitted(batch_id=batch_id, chunk=-1, range=r) for r in ranges],
    )


def continue_fanout(batch: Batch, done: LigandRange) -> bool:
    """Publishes the range FANOUT_STRIDE after `done`, unless its jobs exist already (another
    delivery got there first): duplicates of a range do not multiply down the chain."""
    ranges = read_manifest(batch.batch_id) or []
    position = next((i for i, r in enumerate(ranges) if r.start == done.start), None)
    if position is None or position + FANOUT_STRIDE >= len(ranges):
        return False
    following = ranges[position + FANOUT_STRIDE]
    if job_store.get_job(batch.batch_id, job_id(batch.batch_id, following.start)) is not None:
        return False
    publish_ranges(batch.batch_id, [following])
    return True


def fan_out_range(event: JobsSubmitted) -> FanOutOutcome:
    """Writes the range's missing jobs and publishes its chunks. A redelivery finds the jobs
    written and publishes the chunks again, which is harmless: dispatch claims before it starts."""
    assert event.range is not None
    batch = batch_store.get_batch(event.batch_id)
    if batch is None:
        raise PermanentError(f"batch {event.batch_id} does not exist")
    if batch.status.is_final:
        return FanOutOutcome(created=0, published=0)
    ligands = [Ligand.model_validate(x) for x in json.loads(storage.get_bytes(event.range.uri))["ligands"]]
    jobs = build_jobs(batch, ligands)
    created = job_store.create_jobs(batch.batch_id, jobs)
    chunk_size = get_model(batch.model).chunk_size
    published = publish_chunks(batch, jobs, first_chunk=event.range.start // chunk_size)
    continue_fanout(batch, event.range)
    return FanOutOutcome(created=created, published=published)
