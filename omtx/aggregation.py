"""Turning a batch's jobs into result files, in bounded memory: rows go to a JSONL spool once,
then the CSV and JSON are streamed from it."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from omtx.domain import Job, JobStatus

BASE_COLUMNS = ["index", "job_id", "ligand_name", "smiles", "canonical_smiles", "inchikey", "status", "error"]
TRAILING_COLUMNS = ["result_uri"]


def job_row(job: Job) -> dict[str, Any]:
    row: dict[str, Any] = {
        "index": job.index,
        "job_id": job.job_id,
        "ligand_name": job.ligand_name,
        "smiles": job.smiles,
        "canonical_smiles": job.canonical_smiles,
        "inchikey": job.inchikey,
        "status": job.status.value,
        "error": job.error,
        "result_uri": job.result_uri,
    }
    # The model repeats identity fields in its metrics; the job's own values win.
    row.update({f"metric.{k}" if k in row else k: v for k, v in job.metrics.items()})
    return row


class Spool:
    """Rows spooled to disk, with what the result files need collected on the way."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.metric_columns: list[str] = []
        self.count = 0
        self.status_counts: dict[str, int] = {}
        self._stats: dict[str, RunningStats] = {}

    def fill(self, jobs: Iterable[Job]) -> Spool:
        seen: set[str] = set()
        with self.path.open("w") as out:
            for job in jobs:
                row = job_row(job)
                for key, value in row.items():
                    if key not in BASE_COLUMNS and key not in TRAILING_COLUMNS and key not in seen:
                        seen.add(key)
                        self.metric_columns.append(key)
                    if job.status == JobStatus.SUCCEEDED and _is_number(value) and key != "index":
                        self._stats.setdefault(key, RunningStats()).add(float(value))
                self.status_counts[job.status.value] = self.status_counts.get(job.status.value, 0) + 1
                self.count += 1
                out.write(json.dumps(row, default=str) + "\n")
        return self

    def rows(self) -> Iterator[dict[str, Any]]:
        with self.path.open() as src:
            for line in src:
                yield json.loads(line)

    @property
    def columns(self) -> list[str]:
        return BASE_COLUMNS + self.metric_columns + TRAILING_COLUMNS

    def metric_stats(self) -> dict[str, dict[str, float]]:
        return {k: s.summary() for k, s in self._stats.items()}

    def write_csv(self, out: IO[str]) -> None:
        writer = csv.DictWriter(out, fieldnames=self.columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in self.rows():
            writer.writerow({k: _csv_value(v) for k, v in row.items()})

    def write_json(self, header: dict[str, Any], out: IO[str]) -> None:
        """`{...header, "columns": [...], "jobs": [...]}` written row by row."""
        body = json.dumps(header | {"columns": self.columns}, default=str)
        out.write(body[:-1] + ',"jobs":[')
        for n, row in enumerate(self.rows()):
            out.write(("," if n else "") + json.dumps(row, default=str))
        out.write("]}")


class RunningStats:
    def __init__(self) -> None:
        self.n = 0
        self.total = 0.0
        self.lo = math.inf
        self.hi = -math.inf

    def add(self, value: float) -> None:
        self.n += 1
        self.total += value
        self.lo = min(self.lo, value)
        self.hi = max(self.hi, value)

    def summary(self) -> dict[str, float]:
        return {"n": self.n, "mean": self.total / self.n, "min": self.lo, "max": self.hi}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value
