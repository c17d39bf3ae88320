"""The building blocks of the OpenAPI document: schema references, JSON responses, the error
responses, security schemes, and the parameters several operations share (paging, submission,
a results view's filters). omtx/api/openapi.py assembles the document from them."""

from __future__ import annotations

from typing import Any

from omtx.api.schemas import ErrorBody
from omtx.domain import JobStatus
from omtx.drops import LibraryRequest

REF = "#/components/schemas/{model}"


def ref(model: type) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def answer(model: type, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ref(model)}}}


RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again", "schema": {"type": "integer"}}}


def errors(*codes: int) -> dict[str, Any]:
    """Error responses; every /v1 operation can also answer 401 and 429 (added by openapi.secured)."""
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
    responses = {str(code): answer(ErrorBody, text[code]) for code in codes}
    for code in ("409", "429"):
        if code in responses:
            responses[code]["headers"] = RETRY_AFTER
    return responses


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


def param(name: str, description: str, schema: dict[str, Any], where: str = "query") -> dict[str, Any]:
    return {"name": name, "in": where, "required": where == "path", "description": description, "schema": schema}


BATCH_ID = param("batch_id", "Batch id", {"type": "string"}, "path")
JOB_ID = param("job_id", "Job id", {"type": "string"}, "path")
LIMIT = param("limit", "Page size (1–1000)", {"type": "integer", "minimum": 1, "maximum": 1000})
CURSOR = param("cursor", "next_cursor of the previous page", {"type": "string"})
SUBMIT_PARAMETERS = [
    param("dry_run", "Validate and estimate only; nothing is created", {"type": "boolean"}),
    param(
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
            "request": ref(LibraryRequest),
        },
    },
    "encoding": {"request": {"contentType": "application/json"}},
}
STREAM = {"description": "The file, streamed", "content": {"application/octet-stream": {"schema": {}}}}
METRIC = "[A-Za-z_][A-Za-z0-9_]*"
# The view of a batch's results: the same parameters for a page, an export and the facets.
VIEW_PARAMETERS = [
    param(
        "order_by",
        "A metric or index, ligand_name, canonical_smiles, inchikey, duration_s; '-' prefix for descending. "
        "Rows without a value come last either way; the job index breaks ties.",
        {"type": "string", "pattern": f"^-?{METRIC}$"},
    ),
    param("status", "Only jobs in this status", {"type": "string", "enum": [s.value for s in JobStatus]}),
    param(
        "q",
        "Text in the ligand name or InChIKey (any case) or the canonical SMILES (as written)",
        {"type": "string", "minLength": 1, "maxLength": 200},
    ),
    param(
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
