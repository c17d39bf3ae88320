"""The OpenAPI 3.1 document of the HTTPS API, with schemas generated from the pydantic models the
routes use, so the document cannot drift from the code. With auth on, every /v1 operation
requires an API key (either security scheme); with auth off (the local stack) none does.

Assembled here from openapi_parts.py (references, responses, shared parameters) and the path
tables of openapi_paths.py and designs_openapi.py."""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from omtx import __version__
from omtx.api import designs_openapi
from omtx.api.campaign_routes import CampaignPage, CampaignRowsPage, CampaignView
from omtx.api.openapi_parts import REF, SECURITY, SECURITY_SCHEMES, answer, errors
from omtx.api.openapi_paths import batch_paths, campaign_paths
from omtx.api.schemas import (
    BatchAccepted,
    BatchPage,
    BatchView,
    CancelView,
    ErrorBody,
    JobView,
    ModelList,
    ResultsPage,
    RetryView,
)
from omtx.campaigns.plan import CampaignRequest
from omtx.domain import BatchRequest, PredictionRequest
from omtx.drops import LibraryRequest
from omtx.structures import StructureUpload
from omtx.usecases.campaigns import CampaignAccepted
from omtx.usecases.operator import OperatorStatus
from omtx.usecases.structures import StructureStored
from omtx.usecases.usage import Usage


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
        "202": answer(BatchAccepted, "Accepted; Location names the batch"),
        "200": answer(BatchAccepted, "A dry run's validation and estimate, or an idempotent replay"),
    } | errors(400, 402, 409, 413, 422)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "OMTX-Hub API",
            "version": __version__,
            "description": "Batch protein–ligand predictions: submit a batch, follow it, read its results. "
            "Antibody and nanobody design campaigns (RFantibody) under /v1/designs.",
        },
        "paths": secured(
            batch_paths(submit_responses) | campaign_paths() | designs_openapi.paths(),
            required=auth == "api_key",
        ),
        "components": {"schemas": schemas["$defs"], "securitySchemes": SECURITY_SCHEMES},
    }


def secured(paths: dict[str, dict[str, Any]], required: bool) -> dict[str, dict[str, Any]]:
    """Every /v1 operation answers 401 and 429 when keys are required, and says so."""
    for operations in paths.values():
        for operation in operations.values():
            operation["responses"] |= errors(401, 429)
            if required:
                operation["security"] = SECURITY
    return paths
