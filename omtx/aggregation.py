"""Turning a batch's jobs into result files in bounded memory: rows are spooled to disk once
(JSONL), with column types, per-metric values and the best/worst ligands collected on the way;
the JSON, CSV, Parquet and index files are then streamed from the spool."""

from __future__ import annotations

import csv
import heapq
import json
import math
from array import array
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from statistics import quantiles
from typing import IO, Any

from omtx import spreadsheet
from omtx.domain import Job, JobStatus

BASE_COLUMNS = ["index", "job_id", "ligand_name", "smiles", "canonical_smiles", "inchikey", "status", "error"]
# Reproducibility record, on every row: enough to rerun exactly this prediction.
REPRO_COLUMNS = ["model", "model_version", "params", "seed", "input_hash"]
# What happened to the job: who answered it ("cache" for a reused result), its attempts over every
# run, the retries of its batch, the job it reused, the model's time.
RUN_COLUMNS = ["executor", "attempts", "retries", "cached_from", "duration_s"]
TRAILING_COLUMNS = ["result_uri", "files"]
FIXED = set(BASE_COLUMNS) | set(REPRO_COLUMNS) | set(RUN_COLUMNS) | set(TRAILING_COLUMNS)
# Parquet schema metadata: which batch revision the file holds, and each metric column's kind
# (number, boolean, text, json), so a reader need not guess a JSON text from a plain one.
META_BATCH_ID = b"omtx.batch_id"
META_REVISION = b"omtx.revision"
META_METRIC_KINDS = b"omtx.metric_kinds"
EXTREMES = 5
TOP_HITS = 25  # kept for the report; the summary lists the first EXTREMES
PARQUET_ROW_GROUP = 10_000
INDEX_KEYS = ("index", "job_id", "ligand_name", "status", "result_uri")


def job_row(job: Job, repro: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {
        "index": job.index,
        "job_id": job.job_id,
        "ligand_name": job.ligand_name,
        "smiles": job.smiles,
        "canonical_smiles": job.canonical_smiles,
        "inchikey": job.inchikey,
        "status": job.status.value,
        "error": job.error,
        **repro,
        "input_hash": job.input_hash,
        "executor": job.ran_on,
        "attempts": job.all_attempts,
        "retries": job.retries,
        "cached_from": job.cached_from,
        "duration_s": job.duration_s,
        "result_uri": job.result_uri,
        "files": job.files,
    }
    # The model repeats identity fields in its metrics; the job's own values win.
    row.update({f"metric.{k}" if k in row else k: v for k, v in job.metrics.items()})
    return row


class Spool:
    """Rows spooled to disk, with what the result files need collected on the way."""

    def __init__(
        self, path: Path, primary_metric: str | None = None, higher_is_better: bool = True, keep: Sequence[str] = ()
    ) -> None:
        self.path = path
        self.primary_metric = primary_metric
        self.higher_is_better = higher_is_better
        # row fields the best ligands carry besides the fixed ones (pose checks, file-name parts)
        self.keep = tuple(keep)
        self.metric_columns: list[str] = []
        self.count = 0
        self.status_counts: dict[str, int] = {}
        self._types: dict[str, set[type]] = {}
        self._values: dict[str, array[float]] = {}
        self._flags: dict[str, list[int]] = {}  # boolean metric → [true, false] over succeeded jobs
        self._best: list[tuple[float, int, dict[str, Any]]] = []
        self._worst: list[tuple[float, int, dict[str, Any]]] = []

    def fill(self, jobs: Iterable[Job], repro: dict[str, Any] | None = None) -> Spool:
        repro = repro or {}
        with self.path.open("w") as out:
            for job in jobs:
                row = job_row(job, repro)
                succeeded = job.status == JobStatus.SUCCEEDED
                for key, value in row.items():
                    if key not in FIXED and key not in self._types:
                        self._types[key] = set()
                        self.metric_columns.append(key)
                    if value is not None and key in self._types:
                        self._types[key].add(type(value))
                    if succeeded and key in self._types and _is_number(value):
                        self._values.setdefault(key, array("d")).append(float(value))
                    elif succeeded and key in self._types and isinstance(value, bool):
                        self._flags.setdefault(key, [0, 0])[0 if value else 1] += 1
                if succeeded:
                    self._rank(row)
                self.status_counts[job.status.value] = self.status_counts.get(job.status.value, 0) + 1
                self.count += 1
                out.write(json.dumps(row, default=str) + "\n")
        return self

    def _rank(self, row: dict[str, Any]) -> None:
        metric = self.primary_metric or ""
        value: Any = row.get(metric)
        if not _is_number(value):
            return
        score = float(value) if self.higher_is_better else -float(value)
        brief = {k: row[k] for k in ("index", "job_id", "ligand_name", "canonical_smiles", "result_uri")}
        brief[metric] = value
        brief.update({key: row[key] for key in self.keep if key in row})
        brief["files"] = row.get("files") or {}
        entry = (score, -row["index"], brief)
        (heapq.heappush if len(self._best) < TOP_HITS else heapq.heappushpop)(self._best, entry)
        low = (-score, row["index"], brief)
        (heapq.heappush if len(self._worst) < EXTREMES else heapq.heappushpop)(self._worst, low)

    def rows(self) -> Iterator[dict[str, Any]]:
        with self.path.open() as src:
            for line in src:
                yield json.loads(line)

    @property
    def columns(self) -> list[str]:
        return BASE_COLUMNS + REPRO_COLUMNS + RUN_COLUMNS + self.metric_columns + TRAILING_COLUMNS

    def best(self, n: int = EXTREMES) -> list[dict[str, Any]]:
        return [brief for *_, brief in sorted(self._best, reverse=True)][:n]

    def worst(self) -> list[dict[str, Any]]:
        return [brief for *_, brief in sorted(self._worst, reverse=True)]

    def values(self, metric: str) -> array[float]:
        return self._values.get(metric, array("d"))

    def flag_counts(self) -> dict[str, dict[str, float]]:
        """Per boolean metric, over the succeeded jobs that report it: how many are true."""
        return {
            key: {"n": true + false, "true": true, "fraction_true": round(true / (true + false), 4)}
            for key, (true, false) in self._flags.items()
        }

    def metric_stats(self) -> dict[str, dict[str, float]]:
        stats = {}
        for key, values in self._values.items():
            if bool in self._types.get(key, set()):
                continue  # flags are counted, not averaged
            n = len(values)
            q1, median, q3 = quantiles(values, n=4, method="inclusive") if n > 1 else (values[0],) * 3
            stats[key] = {
                "n": n,
                "mean": math.fsum(values) / n,
                "min": min(values),
                "q1": q1,
                "median": median,
                "q3": q3,
                "max": max(values),
            }
        return stats

    def export(
        self, header: dict[str, Any], aggregated: IO[str], table: IO[str], index: IO[str], parquet: Path
    ) -> None:
        """aggregated.json, the CSV, job_index.json and the Parquet file in one pass over the spool.
        aggregated.json is `{...header, "columns": [...], "jobs": [...]}`; its rows are the spool's
        own lines, copied without re-encoding."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        body = json.dumps(header | {"columns": self.columns}, default=str)
        aggregated.write(body[:-1] + ',"jobs":[')
        index.write(json.dumps({"batch_id": header.get("batch_id")})[:-1] + ',"jobs":[')
        # CRLF (RFC 4180) also makes the writer quote a cell holding a bare carriage return.
        writer = csv.DictWriter(table, fieldnames=self.columns, extrasaction="ignore", lineterminator="\r\n")
        writer.writeheader()
        schema = pa.schema([(name, self._arrow_type(name)) for name in self.columns]).with_metadata(
            {
                META_BATCH_ID: str(header.get("batch_id")),
                META_REVISION: str(header.get("revision", 0)),
                META_METRIC_KINDS: json.dumps(self.metric_kinds()),
            }
        )
        group: list[dict[str, Any]] = []
        with pq.ParquetWriter(parquet, schema, compression="zstd") as parquet_writer, self.path.open() as src:
            for n, line in enumerate(src):
                row = json.loads(line)
                sep = "," if n else ""
                aggregated.write(sep + line.rstrip("\n"))
                index.write(sep + json.dumps({k: row.get(k) for k in INDEX_KEYS}))
                writer.writerow({k: spreadsheet.cell(v) for k, v in row.items()})
                group.append({k: self._arrow_value(k, row.get(k)) for k in self.columns})
                if len(group) == PARQUET_ROW_GROUP:
                    parquet_writer.write_table(pa.Table.from_pylist(group, schema=schema))
                    group = []
            if group or self.count == 0:
                parquet_writer.write_table(pa.Table.from_pylist(group, schema=schema))
        aggregated.write("]}")
        index.write("]}")

    def _arrow_type(self, name: str) -> Any:
        import pyarrow as pa

        fixed = {
            "index": pa.int64(),
            "seed": pa.int64(),
            "attempts": pa.int64(),
            "retries": pa.int64(),
            "duration_s": pa.float64(),
        }
        if name in fixed:
            return fixed[name]
        seen = self._types.get(name, {str})
        if seen == {bool}:
            return pa.bool_()
        if seen == {int}:
            return pa.int64()
        if seen and seen <= {int, float}:
            return pa.float64()
        return pa.string()

    def metric_kinds(self) -> dict[str, str]:
        kinds = {}
        for name in self.metric_columns:
            seen = self._types.get(name, set())
            if seen == {bool}:
                kinds[name] = "boolean"
            elif seen and seen <= {int, float}:
                kinds[name] = "number"
            elif seen and seen <= {dict, list}:
                kinds[name] = "json"
            else:
                kinds[name] = "text"  # strings, nothing seen, or a mix (written as text)
        return kinds

    def _arrow_value(self, name: str, value: Any) -> Any:
        if value is None:
            return None
        if name in self._types and self._types[name] - {bool, int, float} and not isinstance(value, str):
            return json.dumps(value)
        if isinstance(value, dict | list):
            return json.dumps(value)
        return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
