"""One results row, the same from both sources: the job's own fields (those the view projects),
its non-null metrics, and links to the job and its files. Built from plain values (a decoded
Firestore document or a table record), without a model validation per row."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from omtx.results.catalog import ROW_FIELDS
from omtx.results.query import ResultsQuery

RESULTS_FILE = "results.json"


def links(batch_id: str, job_id: str, names: Iterable[str]) -> dict[str, str]:
    base = f"/v1/batches/{batch_id}/jobs/{job_id}"
    return {"self": base} | {name: f"{base}/files/{name}" for name in names}


def file_names(files: dict[str, Any] | None, result_uri: str | None) -> list[str]:
    """The job's files as the API serves them: its own, and results.json once it has one."""
    names = sorted(files or {})
    if result_uri and RESULTS_FILE not in names:
        names.append(RESULTS_FILE)
    return names


def from_document(batch_id: str, doc: dict[str, Any], query: ResultsQuery) -> dict[str, Any]:
    """A row from a job document's fields (see live.SELECT for the fields read)."""
    derived = {
        # A reused result was claimed by the executor that would have run it: say who answered.
        "executor": "cache" if doc.get("cached_from") else doc.get("executor"),
        "attempts": int(doc.get("attempts") or 0) + int(doc.get("earlier_attempts") or 0),
        "retries": int(doc.get("retries") or 0),
    }
    row = {name: derived[name] if name in derived else doc.get(name) for name in ROW_FIELDS if query.wants(name)}
    metrics = doc.get("metrics") or {}
    row["metrics"] = {k: v for k, v in metrics.items() if v is not None and query.wants(k)}
    row["links"] = links(batch_id, doc["job_id"], file_names(doc.get("files"), doc.get("result_uri")))
    return row


def from_records(
    batch_id: str, records: Iterable[dict[str, Any]], metrics: Iterable[tuple[str, str, bool]], query: ResultsQuery
) -> list[dict[str, Any]]:
    """Rows from in-memory table records; `metrics` are (name, column, is JSON text). What the
    query projects is decided once, not per row: this is the hot loop of a page."""
    fields = [name for name in ROW_FIELDS if query.wants(name)]
    shown = [(name, column, is_json) for name, column, is_json in metrics if query.wants(name)]
    found = []
    for record in records:
        row = {name: record[name] for name in fields}
        values = {}
        for name, column, is_json in shown:
            if (value := record[column]) is not None:
                values[name] = json.loads(value) if is_json else value
        row["metrics"] = values
        files = json.loads(record["files"]) if record["files"] else None
        row["links"] = links(batch_id, record["job_id"], file_names(files, RESULTS_FILE if record["_result"] else None))
        found.append(row)
    return found
