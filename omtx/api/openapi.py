"""The OpenAPI 3.1 document of the HTTPS API, with schemas generated from the pydantic models the
routes use, so the document cannot drift from the code. With auth on, every /v1 operation
requires an API key (either security scheme); with auth off (the local stack) none does."""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from omtx import __version__
from omtx.api import designs_openapi
from omtx.api.campaign_routes import CampaignPage, CampaignRowsPage, CampaignView
from omtx.api.schemas import (
    BatchAccepted,
    BatchPage,
    BatchView,
    CancelView,
    ErrorBody,
    Facets,
    JobView,
    ModelList,
    ResultsPage,
    RetryView,
)
from omtx.campaigns.plan import CampaignRequest
from omtx.domain import BatchRequest, JobStatus, PredictionRequest
from omtx.drops import LibraryRequest
from omtx.structures import StructureUpload
from omtx.usecases.campaigns import CampaignAccepted
from omtx.usecases.operator import OperatorStatus
from omtx.usecases.structures import StructureStored
from omtx.usecases.usage import Usage

REF = "#/components/schemas/{model}"


def _ref(model: type) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _json_response(model: type, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(model)}}}


RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again", "schema": {"type": "integer"}}}


def _errors(*codes: int) -> dict[str, Any]:
    """Error responses; every /v1 operation can also answer 401 and 429 (added by `_secured`)."""
    text = {
        400: "Bad request or query parameter",
        401: "No API key, or one that is not valid or was revoked (WWW-Authenticate: Bearer)",
        402: "The estimated GPU-seconds would take the tenant past its budget",
        403: "The API key's tier may not do this (operators only)",
        404: "Not found (or another tenant's)",
        409: "Conflicts with the batch's state, or an Idempotency-Key reused with another body or still in use",
        413: "Too large",
        422: "Invalid input: every problem, with its location",
        429: "The API key used up its requests this minute",
    }
    responses = {str(code): _json_response(ErrorBody, text[code]) for code in codes}
    for code in ("409", "429"):
        if code in responses:
            responses[code]["headers"] = RETRY_AFTER
    return responses


def _secured(paths: dict[str, dict[str, Any]], required: bool) -> dict[str, dict[str, Any]]:
    """Every /v1 operation answers 401 and 429 when keys are required, and says so."""
    for operations in paths.values():
        for operation in operations.values():
            operation["responses"] |= _errors(401, 429)
            if required:
                operation["security"] = SECURITY
    return paths


SECURITY: list[dict[str, list[str]]] = [{"bearerKey": []}, {"headerKey": []}]
SECURITY_SCHEMES = {
    "bearerKey": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer omtx_<id>_<secret>"},
    "headerKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "The same key; use this header where Cloud Run IAM takes Authorization",
    },
}


def _param(name: str, description: str, schema: dict[str, Any], where: str = "query") -> dict[str, Any]:
    return {"name": name, "in": where, "required": where == "path", "description": description, "schema": schema}


BATCH_ID = _param("batch_id", "Batch id", {"type": "string"}, "path")
JOB_ID = _param("job_id", "Job id", {"type": "string"}, "path")
LIMIT = _param("limit", "Page size (1–1000)", {"type": "integer", "minimum": 1, "maximum": 1000})
CURSOR = _param("cursor", "next_cursor of the previous page", {"type": "string"})
SUBMIT_PARAMETERS = [
    _param("dry_run", "Validate and estimate only; nothing is created", {"type": "boolean"}),
    _param(
        "Idempotency-Key",
        "Same key and body: the original batch; same key, other body: 409",
        {"type": "string", "minLength": 1, "maxLength": 255},
        "header",
    ),
]
UPLOAD = {
    "schema": {
        "type": "object",
        "required": ["library"],
        "properties": {
            "library": {
                "type": "string",
                "format": "binary",
                "description": "The library file; its name's extension says the format: .csv .tsv .txt "
                "(a table with a SMILES column), .smi .smiles (SMILES and name a line), .sdf .sd (molfiles). "
                "UTF-8, UTF-16 with a byte-order mark, or Windows-1252 (said in the warnings)",
            },
            "request": _ref(LibraryRequest),
        },
    },
    "encoding": {"request": {"contentType": "application/json"}},
}
STREAM = {"description": "The file, streamed", "content": {"application/octet-stream": {"schema": {}}}}
METRIC = "[A-Za-z_][A-Za-z0-9_]*"
# The view of a batch's results: the same parameters for a page, an export and the facets.
VIEW_PARAMETERS = [
    _param(
        "order_by",
        "A metric or index, ligand_name, canonical_smiles, inchikey, duration_s; '-' prefix for descending. "
        "Rows without a value come last either way; the job index breaks ties.",
        {"type": "string", "pattern": f"^-?{METRIC}$"},
    ),
    _param("status", "Only jobs in this status", {"type": "string", "enum": [s.value for s in JobStatus]}),
    _param(
        "q",
        "Text in the ligand name or InChIKey (any case) or the canonical SMILES (as written)",
        {"type": "string", "minLength": 1, "maxLength": 200},
    ),
    _param(
        "fields",
        "Comma-separated row fields and metrics to return (job_id, index, metrics and links always are)",
        {"type": "string"},
    ),
    {
        "name": "metric_filters",
        "in": "query",
        "required": False,
        "description": "Filters on the batch's metrics, each its own query parameter: min_<metric>= and "
        "max_<metric>= (numbers; bounds included), <metric>=true|false (boolean metrics, e.g. "
        "lipinski_pass=true, pb_valid=true). A name that is not a metric of the batch, or any other unknown "
        "parameter, is a 400 that lists the batch's metrics (GET …/facets lists them too).",
        "schema": {
            "type": "object",
            "patternProperties": {
                f"^(min|max)_{METRIC}$": {"type": "number"},
                f"^{METRIC}$": {"type": "boolean"},
            },
            "additionalProperties": False,
        },
        "style": "form",
        "explode": True,
    },
]
BINARY = {"type": "string", "format": "binary"}
VIEW_FILE = {
    "description": "Every row of the view, in its order, streamed",
    "headers": {"Content-Disposition": {"schema": {"type": "string"}, "description": "attachment; a file name"}},
}


@cache
def document(auth: Literal["off", "api_key"] = "off") -> dict[str, Any]:
    inputs: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        (BatchRequest, "validation"),
        (PredictionRequest, "validation"),
        (StructureUpload, "validation"),
        (LibraryRequest, "validation"),
        (CampaignRequest, "validation"),
        *((model, "validation") for model in designs_openapi.INPUT_MODELS),
    ]
    output_models: tuple[type[BaseModel], ...] = (
        BatchAccepted,
        BatchView,
        BatchPage,
        JobView,
        ResultsPage,
        ErrorBody,
        CancelView,
        RetryView,
        OperatorStatus,
        StructureStored,
        ModelList,
        CampaignAccepted,
        CampaignView,
        CampaignPage,
        CampaignRowsPage,
        Usage,
        *designs_openapi.OUTPUT_MODELS,
    )
    outputs: list[tuple[type[BaseModel], JsonSchemaMode]] = [(m, "serialization") for m in output_models]
    _, schemas = models_json_schema(inputs + outputs, ref_template=REF)
    submit_responses = {
        "202": _json_response(BatchAccepted, "Accepted; Location names the batch"),
        "200": _json_response(BatchAccepted, "A dry run's validation and estimate, or an idempotent replay"),
    } | _errors(400, 402, 409, 413, 422)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "OMTX-Hub API",
            "version": __version__,
            "description": "Batch protein–ligand predictions: submit a batch, follow it, read its results. "
            "Antibody and nanobody design campaigns (RFantibody) under /v1/designs.",
        },
        "paths": _secured(
            _paths(submit_responses)
            | _campaign_paths()
            | designs_openapi.paths(_ref, _json_response, _errors, BATCH_ID, _param),
            required=auth == "api_key",
        ),
        "components": {"schemas": schemas["$defs"], "securitySchemes": SECURITY_SCHEMES},
    }


def _paths(submit_responses: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        "/v1/batches": {
            "post": {
                "operationId": "createBatch",
                "summary": "Submit a batch: one protein, N ligands, one model",
                "description": "JSON rows, or a library file: multipart/form-data with a `library` file part "
                "(CSV/TSV, SMILES or SD file, the format from its file name's extension) and a `request` part "
                "(JSON: everything but the ligands). Errors and warnings about a file's rows carry its `line` "
                "(and an SD file's `record`).",
                "parameters": SUBMIT_PARAMETERS,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref(BatchRequest)}, "multipart/form-data": UPLOAD},
                },
                "responses": submit_responses,
            },
            "get": {
                "operationId": "listBatches",
                "summary": "The tenant's batches, newest first",
                "parameters": [
                    _param("status", "Only batches in this status", {"type": "string"}),
                    LIMIT,
                    CURSOR,
                ],
                "responses": {"200": _json_response(BatchPage, "A page of batches")} | _errors(400),
            },
        },
        "/v1/predictions": {
            "post": {
                "operationId": "createPrediction",
                "summary": "One protein–ligand prediction: the same pipeline as a batch of one",
                "parameters": SUBMIT_PARAMETERS,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref(PredictionRequest)}},
                },
                "responses": submit_responses,
            }
        },
        "/v1/models": {
            "get": {
                "operationId": "listModels",
                "summary": "The models a batch may name, with the metric results are ranked by",
                "responses": {"200": _json_response(ModelList, "Every model of this deployment")},
            }
        },
        "/v1/structures": {
            "post": {
                "operationId": "uploadStructure",
                "summary": "Store a PDB or mmCIF structure in your own folder; name its URI in protein.structure",
                "description": "Content-addressed: the same file gives the same URI. A batch may name only "
                "structures its tenant uploaded, or .cif/.pdb files of the tenant's own jobs.",
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref(StructureUpload)}}},
                "responses": {"201": _json_response(StructureStored, "Stored")} | _errors(413, 422),
            }
        },
        "/v1/batches/{batch_id}": {
            "get": {
                "operationId": "getBatch",
                "summary": "Status, counts, progress, milestones, ETA and links",
                "parameters": [BATCH_ID],
                "responses": {"200": _json_response(BatchView, "The batch")} | _errors(404),
            },
            "delete": {
                "operationId": "deleteBatch",
                "summary": "Delete a finished batch: its jobs, counters, inputs and result files",
                "description": "Idempotent: deleting it again answers 204 (to the tenant that deleted it). "
                "An unfinished batch is refused with 409: cancel it first.",
                "parameters": [BATCH_ID],
                "responses": {"204": {"description": "Deleted (or deleted before)"}} | _errors(404, 409),
            },
        },
        "/v1/batches/{batch_id}/cancel": {
            "post": {
                "operationId": "cancelBatch",
                "summary": "Cancel a batch: stop dispatching, stop calls in flight, keep the partial results",
                "description": "Unfinished jobs become cancelled; succeeded and failed ones keep their results, "
                "and the result files are written for what finished. batch-done is published once, with "
                "status cancelled. Cancelling a cancelled batch answers 200 again (repeated: true); a "
                "finished one is 409.",
                "parameters": [BATCH_ID],
                "responses": {"200": _json_response(CancelView, "Cancelled and finalised")} | _errors(404, 409),
            }
        },
        "/v1/batches/{batch_id}/retry": {
            "post": {
                "operationId": "retryBatch",
                "summary": "Run the failed jobs of a finished batch again",
                "description": "The batch returns to running under revision + 1 and finalises again when the "
                "jobs are done, with a new result set and a new batch-done. 409 unless the batch is "
                "completed_with_failures or failed.",
                "parameters": [BATCH_ID],
                "responses": {"202": _json_response(RetryView, "Requeued; Location names the batch")}
                | _errors(402, 404, 409),
            }
        },
        "/v1/admin/status": {
            "get": {
                "operationId": "operatorStatus",
                "summary": "Operators: active batches, jobs in flight per model, oldest queued job, dead letters",
                "responses": {"200": _json_response(OperatorStatus, "The deployment now")} | _errors(403),
            }
        },
        "/v1/batches/{batch_id}/results": {
            "get": {
                "operationId": "getResults",
                "summary": "A page of the batch's jobs with their metrics: sorted, filtered, searched, projected",
                "description": "A finished batch is answered from its results table in memory, a running one "
                "from Firestore: the same rows, order and cursors either way (a cursor stays valid when the "
                "batch finishes between two pages). The OMTX-Results-Source header says which answered.",
                "parameters": [BATCH_ID, *VIEW_PARAMETERS, LIMIT, CURSOR],
                "responses": {"200": _json_response(ResultsPage, "A page of results")} | _errors(400, 404),
            }
        },
        "/v1/batches/{batch_id}/results.csv": {
            "get": {
                "operationId": "exportResultsCsv",
                "summary": "The rows of a results view as CSV (the same parameters as the results, no page)",
                "description": "UTF-8 with a byte-order mark, CRLF, formula-looking text cells neutralised "
                "(see docs/api.md). Columns: the row fields, then one per metric.",
                "parameters": [BATCH_ID, *VIEW_PARAMETERS],
                "responses": {
                    "200": VIEW_FILE | {"content": {"text/csv": {"schema": {"type": "string"}}}},
                }
                | _errors(400, 404),
            }
        },
        "/v1/batches/{batch_id}/results.parquet": {
            "get": {
                "operationId": "exportResultsParquet",
                "summary": "The rows of a results view as Parquet (the same parameters as the results, no page)",
                "parameters": [BATCH_ID, *VIEW_PARAMETERS],
                "responses": {
                    "200": VIEW_FILE
                    | {
                        "content": {
                            "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}}
                        }
                    },
                }
                | _errors(400, 404),
            }
        },
        "/v1/batches/{batch_id}/facets": {
            "get": {
                "operationId": "getFacets",
                "summary": "Counts, status counts and per-metric min, max and histogram of a results view",
                "description": "The same filters as the results. Histogram bins are fixed per batch (20 over "
                "the metric's whole range), so two filters' bars line up. Status counts ignore status=. "
                "A running batch is read whole from Firestore, up to OMTX_RESULTS_LIVE_SCAN_MAX jobs (409 above).",
                "parameters": [BATCH_ID, *VIEW_PARAMETERS],
                "responses": {"200": _json_response(Facets, "The facets")} | _errors(400, 404, 409),
            }
        },
        "/v1/batches/{batch_id}/exports/{name}": {
            "get": {
                "operationId": "getExport",
                "summary": "An aggregated result file (JSON, CSV, Parquet, summary, report)",
                "parameters": [
                    BATCH_ID,
                    _param(
                        "name",
                        "aggregated.json, summary.json, job_index.json, "
                        "batch_results.csv, batch_results.parquet or report.html",
                        {"type": "string"},
                        "path",
                    ),
                ],
                "responses": {"200": STREAM} | _errors(404),
            }
        },
        "/v1/batches/{batch_id}/exports/structures.zip": {
            "get": {
                "operationId": "getStructuresZip",
                "summary": "Every job's structure and pose files in one zip, streamed (folders <index>_<ligand>/)",
                "parameters": [BATCH_ID],
                "responses": {"200": STREAM} | _errors(404),
            }
        },
        "/v1/usage": {
            "get": {
                "operationId": "getUsage",
                "summary": "The tenant's jobs, compute seconds and estimated cost per day and model; budget left",
                "parameters": [_param("days", "How many days back (1–366, default 30)", {"type": "integer"})],
                "responses": {"200": _json_response(Usage, "Usage")} | _errors(400),
            }
        },
        "/v1/batches/{batch_id}/jobs/{job_id}": {
            "get": {
                "operationId": "getJob",
                "summary": "One job",
                "parameters": [BATCH_ID, JOB_ID],
                "responses": {"200": _json_response(JobView, "The job")} | _errors(404),
            }
        },
        "/v1/batches/{batch_id}/jobs/{job_id}/files/{name}": {
            "get": {
                "operationId": "getJobFile",
                "summary": "One of the job's files (results.json, metadata.json, structure, logs.txt)",
                "parameters": [BATCH_ID, JOB_ID, _param("name", "File name", {"type": "string"}, "path")],
                "responses": {"200": STREAM} | _errors(404),
            }
        },
    }


CAMPAIGN_ID = _param("campaign_id", "Campaign id", {"type": "string"}, "path")


def _campaign_paths() -> dict[str, dict[str, Any]]:
    return {
        "/v1/campaigns": {
            "post": {
                "operationId": "createCampaign",
                "summary": "Submit a screening campaign: one protein, one library, ordered stages",
                "description": "The whole plan is validated at once (every stage's model and params, the "
                "structure where a stage docks, every metric a selection rule names). Each stage runs as a "
                "batch; the next starts when its batch-done arrives.",
                "parameters": [SUBMIT_PARAMETERS[0]],
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref(CampaignRequest)}}},
                "responses": {
                    "202": _json_response(CampaignAccepted, "Accepted; Location names the campaign"),
                    "200": _json_response(CampaignAccepted, "A dry run's validation and per-stage estimate"),
                }
                | _errors(400, 402, 409, 413, 422),
            },
            "get": {
                "operationId": "listCampaigns",
                "summary": "The tenant's campaigns, newest first",
                "parameters": [_param("status", "Only campaigns in this status", {"type": "string"}), LIMIT, CURSOR],
                "responses": {"200": _json_response(CampaignPage, "A page of campaigns")} | _errors(400),
            },
        },
        "/v1/campaigns/{campaign_id}": {
            "get": {
                "operationId": "getCampaign",
                "summary": "Status, reason, and each stage's batch, progress and ETA",
                "parameters": [CAMPAIGN_ID],
                "responses": {"200": _json_response(CampaignView, "The campaign")} | _errors(404),
            }
        },
        "/v1/campaigns/{campaign_id}/cancel": {
            "post": {
                "operationId": "cancelCampaign",
                "summary": "Cancel the running stage and start no more",
                "parameters": [CAMPAIGN_ID],
                "responses": {"200": _json_response(CampaignView, "Cancelling or cancelled")} | _errors(404, 409),
            }
        },
        "/v1/campaigns/{campaign_id}/results": {
            "get": {
                "operationId": "getCampaignResults",
                "summary": "A page of the campaign's table: one row per library ligand",
                "description": "Filter with min_<column>= / max_<column>=, order with order_by=<column> "
                "('-' for descending). Written when the campaign ends.",
                "parameters": [
                    CAMPAIGN_ID,
                    _param("order_by", "Column to order by, '-' prefix for descending", {"type": "string"}),
                    LIMIT,
                    CURSOR,
                ],
                "responses": {"200": _json_response(CampaignRowsPage, "A page of rows")} | _errors(400, 404),
            }
        },
        "/v1/campaigns/{campaign_id}/exports/{name}": {
            "get": {
                "operationId": "getCampaignExport",
                "summary": "campaign_results.csv, campaign_results.parquet, summary.json or report.html",
                "parameters": [CAMPAIGN_ID, _param("name", "File name", {"type": "string"}, "path")],
                "responses": {"200": STREAM} | _errors(404),
            }
        },
    }
