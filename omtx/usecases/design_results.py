"""A design campaign's results: its designs table, live from the finished jobs while it runs and
from designs.json once final, and the result files finalisation writes for it (the batch-done
manifest): designs.json, designs.csv, passing_designs.fasta, summary.json, job_index.json,
report.html and the batch's metadata and index."""

from __future__ import annotations

import json
from typing import Any

from omtx.designs import report, table
from omtx.domain import Batch, BatchStatus, Counts, JobStatus, utcnow
from omtx.gcp import storage
from omtx.gcp.firestore import jobs as job_store
from omtx.settings import get_settings

# manifest key → (object under batches/<id>/, media type); the API serves them by file name
FILES = {
    "designs_json": ("results/designs.json", "application/json"),
    "designs_csv": ("results/designs.csv", "text/csv; charset=utf-8"),
    "passing_fasta": ("results/passing_designs.fasta", "text/x-fasta"),
    "summary_json": ("results/summary.json", "application/json"),
    "job_index_json": ("results/job_index.json", "application/json"),
    "report_html": ("results/report.html", "text/html; charset=utf-8"),
    "batch_metadata_json": ("batch_metadata.json", "application/json"),
    "batch_index_json": ("batch_index.json", "application/json"),
}
EXPORTS = {path.rsplit("/", 1)[1]: key for key, (path, _) in FILES.items() if path.startswith("results/")}


def structure_link(batch_id: str, job_id: str) -> str:
    return f"/v1/batches/{batch_id}/jobs/{job_id}/files/{{name}}"


def live_rows(batch: Batch) -> list[dict[str, Any]]:
    """Every design of the campaign's succeeded jobs, read from their results.json."""
    rows: list[dict[str, Any]] = []
    for job in job_store.iter_jobs(batch.batch_id):
        if job.status != JobStatus.SUCCEEDED or not job.result_uri or job.design is None:
            continue
        result = json.loads(storage.get_bytes(job.result_uri))
        rows += table.job_rows(job.job_id, job.design.tag, result, structure_link(batch.batch_id, job.job_id))
    return rows


def design_rows(batch: Batch) -> list[dict[str, Any]]:
    """The final table once written (one read), else the live one."""
    uri = batch.results.get("designs_json")
    if batch.status.is_final and uri:
        rows: list[dict[str, Any]] = json.loads(storage.get_bytes(uri))["designs"]
        return rows
    return live_rows(batch)


def write_design_results(batch: Batch, counts: Counts, status: BatchStatus) -> dict[str, str]:
    settings = get_settings()
    bucket, base = settings.results_bucket, f"batches/{batch.batch_id}"
    campaign = batch.design
    rows = table.select(live_rows(batch), order_by="interaction_pae")
    jobs = list(job_store.iter_jobs(batch.batch_id))
    header = {
        "schema_version": "1",
        "kind": "designs",
        "batch_id": batch.batch_id,
        "name": batch.name,
        "tenant": batch.tenant,
        "model": batch.model,
        "model_version": batch.model_version,
        "params": batch.params,
        "design": campaign.model_dump() if campaign else None,
        "target_chain": campaign.target_chain if campaign else None,
        "hotspots": campaign.hotspots if campaign else [],
        "status": status.value,
        "total": counts.total,
        "succeeded": counts.succeeded,
        "failed": counts.failed,
    }
    passing = [r for r in rows if r["passes_filters"]]
    summary = header | {
        "designs": len(rows),
        "predicted": sum(1 for r in rows if r["status"] == "predicted"),
        "passing": len(passing),
        "best": rows[:5],
        "stand_in": any(r["stand_in"] for r in rows),
    }
    index = {
        "batch_id": batch.batch_id,
        "jobs": [
            {
                "index": j.index,
                "job_id": j.job_id,
                "run": j.design.model_dump() if j.design else None,
                "status": j.status.value,
                "error": j.error,
                "result_uri": j.result_uri,
            }
            for j in jobs
        ],
    }
    views = [(row, _structure(batch, row)) for row in (passing or rows)[: report.VIEWS]]
    positions = campaign.epitope_positions if campaign else []
    uris = {key: storage.gcs_uri(bucket, f"{base}/{path}") for key, (path, _) in FILES.items()}
    contents: dict[str, bytes] = {
        "designs_json": json.dumps(header | {"columns": list(table.COLUMNS), "designs": rows}).encode(),
        "designs_csv": table.to_csv(rows),
        "passing_fasta": table.passing_fasta(rows).encode(),
        "summary_json": json.dumps(summary, default=str).encode(),
        "job_index_json": json.dumps(index).encode(),
        "report_html": report.render(header, rows, [(r, pdb) for r, pdb in views if pdb], positions).encode(),
        "batch_metadata_json": json.dumps(
            header
            | {
                "input_uri": batch.input_uri,
                "labels": batch.labels,
                "created_at": batch.created_at,
                "started_at": batch.started_at,
                "finished_at": utcnow(),
                "results": uris,
            },
            default=str,
        ).encode(),
        "batch_index_json": json.dumps(
            {"batch_id": batch.batch_id, "jobs_prefix": storage.gcs_uri(bucket, f"{base}/jobs/"), "files": uris}
        ).encode(),
    }
    for key, (path, media) in FILES.items():
        storage.put_bytes(bucket, f"{base}/{path}", contents[key], media)
    return uris


def _structure(batch: Batch, row: dict[str, Any]) -> str:
    job = job_store.get_job(batch.batch_id, row["job_id"])
    uri = job.files.get(f"{row['tag']}.pdb") if job else None
    return storage.get_bytes(uri).decode(errors="replace") if uri else ""
