"""Submit: validate a batch, store its input, record batch and jobs, publish `submitted`."""

from __future__ import annotations

from pydantic import BaseModel

from omtx.chemistry import validate_ligands
from omtx.domain import Batch, BatchRequest, BatchStatus, Job
from omtx.errors import InputError
from omtx.events import JobsSubmitted
from omtx.gcp import firestore_store as store
from omtx.gcp import pubsub, storage
from omtx.ids import input_hash, job_id, new_batch_id, shard_count, shard_of
from omtx.predictors.registry import get_model, parse_params
from omtx.settings import get_settings


class SubmitOutcome(BaseModel):
    batch_id: str
    status: BatchStatus
    model: str
    accepted: int
    rejected: int
    warnings: list[dict[str, object]]


class TooManyLigands(InputError):
    """The batch is larger than this deployment accepts."""


def submit_batch(request: BatchRequest, tenant: str) -> SubmitOutcome:
    settings = get_settings()
    spec = get_model(request.model)
    params = parse_params(spec, request.params)
    if len(request.ligands) > settings.max_ligands:
        raise TooManyLigands(
            "too many ligands",
            [
                {
                    "loc": ["ligands"],
                    "msg": f"{len(request.ligands)} ligands; this deployment accepts at most {settings.max_ligands}",
                    "input": None,
                }
            ],
        )
    errors: list[dict[str, object]] = []
    sequence = request.protein.sequence
    if not settings.protein_min_length <= len(sequence) <= settings.protein_max_length:
        errors.append(
            {
                "loc": ["protein", "sequence"],
                "msg": f"length {len(sequence)} is outside "
                f"{settings.protein_min_length}–{settings.protein_max_length} residues",
                "input": None,
            }
        )
    ligands, ligand_errors = validate_ligands(request.ligands)
    errors.extend(ligand_errors)
    if errors:
        raise InputError("the batch has invalid input", errors)

    batch_id = new_batch_id()
    shards = shard_count(len(ligands), settings.jobs_per_counter_shard, settings.max_counter_shards)
    params_doc = params.model_dump()
    # Inputs are stored before anything is acknowledged or created.
    input_uri = storage.put_json(
        settings.inputs_bucket,
        f"batches/{batch_id}/input.json",
        {
            "batch_id": batch_id,
            "request": request.model_dump(),
            "ligands": [lig.model_dump() for lig in ligands],
        },
        create_only=True,
    )
    batch = Batch(
        batch_id=batch_id,
        tenant=tenant,
        name=request.name,
        model=spec.name,
        model_version=spec.version,
        params=params_doc,
        protein=request.protein,
        labels=request.labels,
        total=len(ligands),
        shard_count=shards,
        input_uri=input_uri,
    )
    jobs = [
        Job(
            job_id=job_id(batch_id, lig.index),
            batch_id=batch_id,
            index=lig.index,
            shard=shard_of(lig.index, shards),
            ligand_name=lig.name,
            smiles=lig.smiles,
            canonical_smiles=lig.canonical_smiles,
            inchikey=lig.inchikey,
            input_hash=input_hash(spec.name, spec.version, params_doc, sequence, lig.canonical_smiles),
        )
        for lig in ligands
    ]
    store.create_batch(batch, jobs)
    pubsub.publish(
        settings.topic_submitted,
        (
            JobsSubmitted(batch_id=batch_id, chunk=n, job_ids=[j.job_id for j in jobs[start : start + spec.chunk_size]])
            for n, start in enumerate(range(0, len(jobs), spec.chunk_size))
        ),
    )
    warnings: list[dict[str, object]] = [
        {"loc": ["ligands", lig.row, "smiles"], "msg": w, "input": lig.smiles} for lig in ligands for w in lig.warnings
    ]
    return SubmitOutcome(
        batch_id=batch_id,
        status=batch.status,
        model=spec.name,
        accepted=len(ligands),
        rejected=0,
        warnings=warnings,
    )
