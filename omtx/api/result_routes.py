"""Result routes of a batch: its rows (a page, or the whole view as CSV or Parquet), facets,
one job, and the stored files (the batch's exports, a job's files), streamed from storage."""

from __future__ import annotations

from typing import Any

import flask
import orjson

from omtx import depiction, spreadsheet
from omtx.api import designs
from omtx.api.batch_routes import EXPORTS
from omtx.api.http import json_response, stored_export, stream_file
from omtx.api.schemas import JobView
from omtx.domain import Job
from omtx.errors import NotFound
from omtx.gcp.firestore import jobs as job_store
from omtx.results import rows as result_rows
from omtx.results import service as results_views
from omtx.tenancy.keys import Principal
from omtx.usecases.control import owned_batch

PARQUET_MEDIA = "application/vnd.apache.parquet"
RESULTS_SOURCE = "OMTX-Results-Source"  # table or firestore: which source answered (same body either way)


def job_view(job: Job) -> JobView:
    links = result_rows.links(job.batch_id, job.job_id, result_rows.file_names(job.files, job.result_uri))
    # What happened, not what the store keeps for the next attempt: who answered (the cache, or
    # the executor), and the attempts of every run (a retry restarts the stored count).
    said = {"executor": job.ran_on, "attempts": job.all_attempts, "run_attempts": job.attempts}
    return JobView.model_construct(**(dict(job) | said), links=links)


def _rows_json(body: dict[str, Any], source: str) -> flask.Response:
    # orjson: a page of rows is most of a results request's own time with the json module.
    return flask.Response(orjson.dumps(body), content_type="application/json", headers={RESULTS_SOURCE: source})


def get_results(request: flask.Request, caller: Principal, batch_id: str) -> flask.Response:
    return _rows_json(*results_views.page(owned_batch(batch_id, caller.tenant), request.args.to_dict(flat=False)))


def get_results_file(request: flask.Request, caller: Principal, batch_id: str, fmt: str) -> flask.Response:
    """The rows of a results view as CSV or Parquet, streamed (same parameters, no page)."""
    batch = owned_batch(batch_id, caller.tenant)
    stream, source = results_views.export(batch, request.args.to_dict(flat=False), "csv" if fmt == "csv" else "parquet")
    media = spreadsheet.MEDIA_TYPE if fmt == "csv" else PARQUET_MEDIA
    response = flask.Response(stream, content_type=media, headers={RESULTS_SOURCE: source})
    response.headers["Content-Disposition"] = f'attachment; filename="{batch_id}-results.{fmt}"'
    return response


def get_facets(request: flask.Request, caller: Principal, batch_id: str) -> flask.Response:
    return _rows_json(*results_views.facets(owned_batch(batch_id, caller.tenant), request.args.to_dict(flat=False)))


def _job_or_404(batch_id: str, job_id: str, caller: Principal) -> Job:
    owned_batch(batch_id, caller.tenant)
    job = job_store.get_job(batch_id, job_id)
    if job is None:
        raise NotFound(f"job {job_id} not found in batch {batch_id}")
    return job


def get_job(request: flask.Request, caller: Principal, batch_id: str, job_id: str) -> flask.Response:
    return json_response(job_view(_job_or_404(batch_id, job_id, caller)))


def get_export(request: flask.Request, caller: Principal, batch_id: str, name: str) -> flask.Response:
    batch = owned_batch(batch_id, caller.tenant)
    if batch.kind == "designs":  # a campaign's own files and report policy (omtx/api/designs.py)
        return designs.get_design_export(request, caller, batch_id, name)
    return stored_export(batch.results, EXPORTS, name, f"the batch finishes (status: {batch.status.value})")


def get_job_file(request: flask.Request, caller: Principal, batch_id: str, job_id: str, name: str) -> flask.Response:
    job = _job_or_404(batch_id, job_id, caller)
    uri = job.result_uri if name == "results.json" else job.files.get(name)
    if uri is None:
        raise NotFound(f"job {job_id} has no file {name!r}")
    response = stream_file(uri, name)
    if name == depiction.FILE_NAME:
        # A drawing of the job's canonical SMILES never changes: the console's results table shows
        # one per row, and each page turn would otherwise ask for every one of them again.
        response.headers["Cache-Control"] = "private, max-age=86400"
    return response
