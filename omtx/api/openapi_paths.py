"""The path table of the OpenAPI document: every batch, result, model, structure and campaign
operation with its parameters and responses (the /v1/designs paths: designs_openapi.py)."""

from __future__ import annotations

from typing import Any

from omtx.api.campaign_routes import CampaignPage, CampaignRowsPage, CampaignView
from omtx.api.openapi_parts import (
    BATCH_ID,
    CURSOR,
    JOB_ID,
    LIMIT,
    STREAM,
    SUBMIT_PARAMETERS,
    UPLOAD,
    VIEW_FILE,
    VIEW_PARAMETERS,
    answer,
    errors,
    param,
    ref,
)
from omtx.api.schemas import (
    BatchPage,
    BatchView,
    CancelView,
    Facets,
    JobView,
    ModelList,
    ResultsPage,
    RetryView,
)
from omtx.campaigns.plan import CampaignRequest
from omtx.domain import BatchRequest, PredictionRequest
from omtx.structures import StructureUpload
from omtx.usecases.campaigns import CampaignAccepted
from omtx.usecases.operator import OperatorStatus
from omtx.usecases.structures import StructureStored
from omtx.usecases.usage import Usage


def batch_paths(submit_responses: dict[str, Any]) -> dict[str, dict[str, Any]]:
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
                    "content": {"application/json": {"schema": ref(BatchRequest)}, "multipart/form-data": UPLOAD},
                },
                "responses": submit_responses,
            },
            "get": {
                "operationId": "listBatches",
                "summary": "The tenant's batches, newest first",
                "parameters": [
                    param("status", "Only batches in this status", {"type": "string"}),
                    LIMIT,
                    CURSOR,
                ],
                "responses": {"200": answer(BatchPage, "A page of batches")} | errors(400),
            },
        },
        "/v1/predictions": {
            "post": {
                "operationId": "createPrediction",
                "summary": "One protein–ligand prediction: the same pipeline as a batch of one",
                "parameters": SUBMIT_PARAMETERS,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": ref(PredictionRequest)}},
                },
                "responses": submit_responses,
            }
        },
        "/v1/models": {
            "get": {
                "operationId": "listModels",
                "summary": "The models a batch may name, with the metric results are ranked by",
                "responses": {"200": answer(ModelList, "Every model of this deployment")},
            }
        },
        "/v1/structures": {
            "post": {
                "operationId": "uploadStructure",
                "summary": "Store a PDB or mmCIF structure in your own folder; name its URI in protein.structure",
                "description": "Content-addressed: the same file gives the same URI. A batch may name only "
                "structures its tenant uploaded, or .cif/.pdb files of the tenant's own jobs.",
                "requestBody": {"required": True, "content": {"application/json": {"schema": ref(StructureUpload)}}},
                "responses": {"201": answer(StructureStored, "Stored")} | errors(413, 422),
            }
        },
        "/v1/batches/{batch_id}": {
            "get": {
                "operationId": "getBatch",
                "summary": "Status, counts, progress, milestones, ETA and links",
                "parameters": [BATCH_ID],
                "responses": {"200": answer(BatchView, "The batch")} | errors(404),
            },
            "delete": {
                "operationId": "deleteBatch",
                "summary": "Delete a finished batch: its jobs, counters, inputs and result files",
                "description": "Idempotent: deleting it again answers 204 (to the tenant that deleted it). "
                "An unfinished batch is refused with 409: cancel it first.",
                "parameters": [BATCH_ID],
                "responses": {"204": {"description": "Deleted (or deleted before)"}} | errors(404, 409),
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
                "responses": {"200": answer(CancelView, "Cancelled and finalised")} | errors(404, 409),
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
                "responses": {"202": answer(RetryView, "Requeued; Location names the batch")} | errors(402, 404, 409),
            }
        },
        "/v1/admin/status": {
            "get": {
                "operationId": "operatorStatus",
                "summary": "Operators: active batches, jobs in flight per model, oldest queued job, dead letters",
                "responses": {"200": answer(OperatorStatus, "The deployment now")} | errors(403),
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
                "responses": {"200": answer(ResultsPage, "A page of results")} | errors(400, 404),
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
                | errors(400, 404),
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
                | errors(400, 404),
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
                "responses": {"200": answer(Facets, "The facets")} | errors(400, 404, 409),
            }
        },
        "/v1/batches/{batch_id}/exports/{name}": {
            "get": {
                "operationId": "getExport",
                "summary": "An aggregated result file (JSON, CSV, Parquet, summary, report)",
                "parameters": [
                    BATCH_ID,
                    param(
                        "name",
                        "aggregated.json, summary.json, job_index.json, "
                        "batch_results.csv, batch_results.parquet or report.html",
                        {"type": "string"},
                        "path",
                    ),
                ],
                "responses": {"200": STREAM} | errors(404),
            }
        },
        "/v1/batches/{batch_id}/exports/structures.zip": {
            "get": {
                "operationId": "getStructuresZip",
                "summary": "Every job's structure and pose files in one zip, streamed (folders <index>_<ligand>/)",
                "parameters": [BATCH_ID],
                "responses": {"200": STREAM} | errors(404),
            }
        },
        "/v1/usage": {
            "get": {
                "operationId": "getUsage",
                "summary": "The tenant's jobs, compute seconds and estimated cost per day and model; budget left",
                "parameters": [param("days", "How many days back (1–366, default 30)", {"type": "integer"})],
                "responses": {"200": answer(Usage, "Usage")} | errors(400),
            }
        },
        "/v1/batches/{batch_id}/jobs/{job_id}": {
            "get": {
                "operationId": "getJob",
                "summary": "One job",
                "parameters": [BATCH_ID, JOB_ID],
                "responses": {"200": answer(JobView, "The job")} | errors(404),
            }
        },
        "/v1/batches/{batch_id}/jobs/{job_id}/files/{name}": {
            "get": {
                "operationId": "getJobFile",
                "summary": "One of the job's files (results.json, metadata.json, structure, logs.txt)",
                "parameters": [BATCH_ID, JOB_ID, param("name", "File name", {"type": "string"}, "path")],
                "responses": {"200": STREAM} | errors(404),
            }
        },
    }


CAMPAIGN_ID = param("campaign_id", "Campaign id", {"type": "string"}, "path")


def campaign_paths() -> dict[str, dict[str, Any]]:
    return {
        "/v1/campaigns": {
            "post": {
                "operationId": "createCampaign",
                "summary": "Submit a screening campaign: one protein, one library, ordered stages",
                "description": "The whole plan is validated at once (every stage's model and params, the "
                "structure where a stage docks, every metric a selection rule names). Each stage runs as a "
                "batch; the next starts when its batch-done arrives.",
                "parameters": [SUBMIT_PARAMETERS[0]],
                "requestBody": {"required": True, "content": {"application/json": {"schema": ref(CampaignRequest)}}},
                "responses": {
                    "202": answer(CampaignAccepted, "Accepted; Location names the campaign"),
                    "200": answer(CampaignAccepted, "A dry run's validation and per-stage estimate"),
                }
                | errors(400, 402, 409, 413, 422),
            },
            "get": {
                "operationId": "listCampaigns",
                "summary": "The tenant's campaigns, newest first",
                "parameters": [param("status", "Only campaigns in this status", {"type": "string"}), LIMIT, CURSOR],
                "responses": {"200": answer(CampaignPage, "A page of campaigns")} | errors(400),
            },
        },
        "/v1/campaigns/{campaign_id}": {
            "get": {
                "operationId": "getCampaign",
                "summary": "Status, reason, and each stage's batch, progress and ETA",
                "parameters": [CAMPAIGN_ID],
                "responses": {"200": answer(CampaignView, "The campaign")} | errors(404),
            }
        },
        "/v1/campaigns/{campaign_id}/cancel": {
            "post": {
                "operationId": "cancelCampaign",
                "summary": "Cancel the running stage and start no more",
                "parameters": [CAMPAIGN_ID],
                "responses": {"200": answer(CampaignView, "Cancelling or cancelled")} | errors(404, 409),
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
                    param("order_by", "Column to order by, '-' prefix for descending", {"type": "string"}),
                    LIMIT,
                    CURSOR,
                ],
                "responses": {"200": answer(CampaignRowsPage, "A page of rows")} | errors(400, 404),
            }
        },
        "/v1/campaigns/{campaign_id}/exports/{name}": {
            "get": {
                "operationId": "getCampaignExport",
                "summary": "campaign_results.csv, campaign_results.parquet, summary.json or report.html",
                "parameters": [CAMPAIGN_ID, param("name", "File name", {"type": "string"}, "path")],
                "responses": {"200": STREAM} | errors(404),
            }
        },
    }
