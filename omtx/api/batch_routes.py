"""Batch routes: submissions (JSON, a library upload, one prediction), the batch list and one
batch's view, cancel, retry and delete. A batch is found only under its own tenant: another
tenant's batch is not found, never forbidden."""

from __future__ import annotations

from functools import partial

import flask

from omtx import progress
from omtx.api.http import (
    BadRequest,
    TooLarge,
    flag,
    idempotency_key,
    json_object,
    json_response,
    list_query,
    parse_body,
)
from omtx.api.schemas import BatchAccepted, BatchPage, BatchView, CancelView, RetryView, WebhookDeliveryView
from omtx.domain import Batch, BatchRequest, BatchStatus, Counts, PredictionRequest, utcnow
from omtx.drops import ParsedDrop
from omtx.gcp.firestore import batches as batch_store
from omtx.gcp.firestore import webhooks as webhook_store
from omtx.libraries import Library
from omtx.results import service as results_views
from omtx.settings import get_settings
from omtx.tenancy.keys import Principal
from omtx.usecases import control, libraries
from omtx.usecases.submit import read_request, submit_batch
from omtx.webhooks import keys as webhook_keys

# export name in the URL → key in the batch's results manifest
EXPORTS = {
    "aggregated.json": "aggregated_json",
    "summary.json": "summary_json",
    "job_index.json": "job_index_json",
    "batch_results.csv": "csv",
    "batch_results.parquet": "parquet",
    "report.html": "report_html",
}


def _submit(
    request: flask.Request, caller: Principal, batch_request: BatchRequest, library: Library | None = None
) -> flask.Response:
    key = idempotency_key(request)
    submit = submit_batch if library is None else partial(libraries.submit_library, library=library)
    outcome = submit(
        batch_request,
        caller.tenant,
        dry_run=flag(request, "dry_run"),
        idempotency_key=key,
        budgeted=caller.metered,
    )
    if outcome.batch_id is None:
        return json_response(BatchAccepted(**dict(outcome), links={}))
    location = f"/v1/batches/{outcome.batch_id}"
    # Derived from the batch id on each answer, so it is never stored (idempotent replays included)
    secret = webhook_keys.secret_for(outcome.batch_id) if batch_request.webhook_url else None
    accepted = BatchAccepted(
        **dict(outcome), links={"self": location, "results": f"{location}/results"}, webhook_secret=secret
    )
    return json_response(accepted, 200 if outcome.replayed else 202, {"Location": location})


def create_batch(request: flask.Request, caller: Principal) -> flask.Response:
    if request.mimetype == "multipart/form-data":
        parsed = _library_upload(request)
        return _submit(request, caller, parsed.request, parsed.library)
    # Not parse_body: a bad ligand row is skippable, and named beside every other one
    return _submit(request, caller, read_request(json_object(request)))


def _library_upload(request: flask.Request) -> ParsedDrop:
    """A library file (`library` part: CSV, SMILES or SDF, by its file name) and what the batch
    is of (`request` part: JSON, as a form field or a file). The file part is spooled to disk by
    the form parser and streamed from there."""
    limit = get_settings().max_body_bytes
    if (request.content_length or 0) > limit:
        raise TooLarge(f"the upload is larger than {limit} bytes; drop the file into the bucket instead")
    request.max_content_length = limit  # also when no Content-Length was sent
    request.max_form_memory_size = limit  # a `request` part may carry a receptor's PDB text
    library = request.files.get("library")
    if library is None or not library.filename:
        raise BadRequest("a multipart upload carries the library as a file part named 'library' (with its file name)")
    part = request.files.get("request")
    raw = part.read() if part is not None else request.form.get("request", type=str)
    return libraries.read_upload(library.stream, library.filename, raw.encode() if isinstance(raw, str) else raw)


def create_prediction(request: flask.Request, caller: Principal) -> flask.Response:
    return _submit(request, caller, parse_body(request, PredictionRequest).as_batch())


def batch_view(batch: Batch, *, deliveries: bool = False) -> BatchView:
    if batch.status.is_final and batch.succeeded is not None and batch.failed is not None:
        counts = Counts(total=batch.total, succeeded=batch.succeeded, failed=batch.failed)  # frozen at the end
    else:
        counts = batch_store.get_counts(batch.batch_id, batch.total)
    # A final batch's throughput is frozen at its end, not divided by the time until now.
    end = (batch.finished_at or batch.cancelled_at) if batch.status.is_final else None
    estimate = progress.estimate(counts, batch.started_at, end or utcnow(), batch.status.is_final)
    links = _links(batch.batch_id)
    links |= {
        name: f"/v1/batches/{batch.batch_id}/exports/{name}" for name, key in EXPORTS.items() if key in batch.results
    }
    # Built from the already-validated models, without a second validation pass.
    fields = dict(batch) | dict(estimate)
    fields |= {"succeeded": counts.succeeded, "failed": counts.failed, "done": counts.done, "links": links}
    fields["trace_id"] = batch.traceparent.split("-")[1] if batch.traceparent else None
    fields["webhooks"] = (
        [
            WebhookDeliveryView.model_validate(d.model_dump(exclude={"body"}))
            for d in webhook_store.list_deliveries(batch.batch_id)
        ]
        if deliveries and batch.webhook_url
        else []
    )
    return BatchView.model_construct(**fields)


def list_batches(request: flask.Request, caller: Principal) -> flask.Response:
    query = list_query(request, {s.value for s in BatchStatus})
    batches, following = batch_store.list_batches(caller.tenant, **query)
    return json_response(BatchPage(batches=[batch_view(b) for b in batches], next_cursor=following))


def get_batch(request: flask.Request, caller: Principal, batch_id: str) -> flask.Response:
    return json_response(batch_view(control.owned_batch(batch_id, caller.tenant), deliveries=True))


def _links(batch_id: str) -> dict[str, str]:
    return {"self": f"/v1/batches/{batch_id}", "results": f"/v1/batches/{batch_id}/results"}


def cancel_batch(request: flask.Request, caller: Principal, batch_id: str) -> flask.Response:
    outcome = control.cancel_batch(batch_id, caller.tenant)
    return json_response(CancelView(**dict(outcome), links=_links(batch_id)))


def retry_batch(request: flask.Request, caller: Principal, batch_id: str) -> flask.Response:
    outcome = control.retry_failed(batch_id, caller.tenant, budgeted=caller.metered)
    location = f"/v1/batches/{batch_id}"
    return json_response(RetryView(**dict(outcome), links=_links(batch_id)), 202, {"Location": location})


def delete_batch(request: flask.Request, caller: Principal, batch_id: str) -> flask.Response:
    control.delete_batch(batch_id, caller.tenant)
    results_views.forget(batch_id)
    return flask.Response(status=204)
