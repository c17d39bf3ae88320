"""The /v1/designs part of the OpenAPI document (omtx/api/openapi.py adds it), with examples."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from omtx.api.designs import DesignPage
from omtx.api.openapi_parts import BATCH_ID, CURSOR, LIMIT, SUBMIT_PARAMETERS, answer, errors, param, ref
from omtx.api.schemas import BatchView, CancelView, RetryView
from omtx.designs.request import DesignRequest
from omtx.usecases.design_results import EXPORTS
from omtx.usecases.designs import DesignAccepted

INPUT_MODELS: list[type[BaseModel]] = [DesignRequest]
OUTPUT_MODELS: list[type[BaseModel]] = [DesignAccepted, DesignPage]

EXAMPLE_TARGET = (
    "ATOM      1  N   LYS A 303      19.770   1.310 -10.480  1.00 30.00           N\\n"
    "ATOM      2  CA  LYS A 303      20.300   0.000 -10.000  1.00 30.00           C\\n..."
)
REQUEST_EXAMPLES = {
    "nanobody": {
        "summary": "200 nanobody designs against an uploaded target",
        "value": {
            "name": "anti-target nanobodies",
            "target": {"structure": "gs://omtx-inputs/structures/acme/<sha256>.pdb", "chain": "A"},
            "hotspots": ["A305", "A456"],
            "framework": "nanobody",
            "num_designs": 200,
        },
    },
    "scfv": {
        "summary": "scFv designs, inline PDB target, stricter pAE filter, reproducible seeds",
        "value": {
            "target": {"structure": EXAMPLE_TARGET, "chain": "A"},
            "hotspots": ["305", "456"],
            "framework": "scfv",
            "design_loops": "H1:7,H2:6,H3:5-13,L1:8-13,L2:7,L3:9-11",
            "num_designs": 40,
            "seed": 1234,
            "settings": {"seqs_per_struct": 8, "max_pae": 8.0, "pae_metric": "interaction_pae", "deterministic": True},
        },
    },
}
REFUSAL_EXAMPLE = {
    "error": "validation_failed",
    "message": "the design request has invalid input",
    "detail": [
        {
            "loc": ["hotspots", 1],
            "msg": "hotspot A84 is buried: relative SASA 0.00 is below 0.16 (a CDR loop cannot contact it); "
            "choose a surface residue",
            "input": "A84",
        },
        {
            "loc": ["framework_pdb"],
            "msg": "not a usable HLT framework: the framework has no REMARK PDBinfo-LABEL lines marking its "
            "CDRs (see chothia2HLT.py)",
            "input": None,
        },
    ],
}


def paths() -> dict[str, Any]:
    """The design paths, built with the document's shared parts (openapi_parts.py)."""
    refused = errors(400, 402, 413, 422)
    refused["422"]["content"]["application/json"]["example"] = REFUSAL_EXAMPLE
    return {
        "/v1/designs": {
            "post": {
                "operationId": "createDesigns",
                "summary": "Design antibodies or nanobodies against an epitope (RFantibody)",
                "description": "The target chain is cut out of the structure; each hotspot must be a residue of "
                "that chain and surface-exposed (relative SASA ≥ 0.16, FreeSASA via RDKit); a custom framework "
                "must be HLT with CDR labels. One 422 names every problem. The campaign runs as jobs of a "
                "GPU-sized number of designs each (distinct design numbers, tags and seeds); no ligand is "
                "involved. dry_run=true validates and estimates only.",
                "parameters": SUBMIT_PARAMETERS[:1],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": ref(DesignRequest), "examples": REQUEST_EXAMPLES}},
                },
                "responses": {
                    "202": answer(DesignAccepted, "Accepted; Location names the campaign"),
                    "200": answer(DesignAccepted, "A dry run's validation and estimate"),
                }
                | refused,
            }
        },
        "/v1/designs/{batch_id}": {
            "get": {
                "operationId": "getDesigns",
                "summary": "The campaign: status, counts, progress, its design settings and links",
                "parameters": [BATCH_ID],
                "responses": {"200": answer(BatchView, "The campaign")} | errors(404),
            },
            "delete": {
                "operationId": "deleteDesigns",
                "summary": "Delete a finished campaign (as DELETE /v1/batches/{batch_id})",
                "parameters": [BATCH_ID],
                "responses": {"204": {"description": "Deleted"}} | errors(404, 409),
            },
        },
        "/v1/designs/{batch_id}/designs": {
            "get": {
                "operationId": "listDesigns",
                "summary": "The designs table: one row per designed sequence, sortable and filterable",
                "description": "order_by=<metric> (default interaction_pae, '-' for descending); "
                "min_<metric>= / max_<metric>=; passes_filters=true|false and filter_<name>=true|false. "
                "Live from the finished jobs while the campaign runs.",
                "parameters": [
                    BATCH_ID,
                    param("order_by", "Metric to order by, '-' prefix for descending", {"type": "string"}),
                    param("passes_filters", "Only designs that pass (true) or fail (false)", {"type": "boolean"}),
                    LIMIT,
                    CURSOR,
                ],
                "responses": {"200": answer(DesignPage, "A page of designs")} | errors(400, 404),
            }
        },
        "/v1/designs/{batch_id}/exports/{name}": {
            "get": {
                "operationId": "getDesignExport",
                "summary": "A result file of the campaign: " + ", ".join(EXPORTS),
                "parameters": [BATCH_ID, param("name", ", ".join(EXPORTS), {"type": "string"}, "path")],
                "responses": {
                    "200": {
                        "description": "The file, streamed",
                        "content": {"application/octet-stream": {"schema": {}}},
                    }
                }
                | errors(404),
            }
        },
        "/v1/designs/{batch_id}/cancel": {
            "post": {
                "operationId": "cancelDesigns",
                "summary": "Cancel the campaign (as POST /v1/batches/{batch_id}/cancel)",
                "parameters": [BATCH_ID],
                "responses": {"200": answer(CancelView, "Cancelled")} | errors(404, 409),
            }
        },
        "/v1/designs/{batch_id}/retry": {
            "post": {
                "operationId": "retryDesigns",
                "summary": "Run the failed design jobs again (as POST /v1/batches/{batch_id}/retry)",
                "parameters": [BATCH_ID],
                "responses": {"202": answer(RetryView, "Requeued")} | errors(402, 404, 409),
            }
        },
    }
