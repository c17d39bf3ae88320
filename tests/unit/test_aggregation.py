import csv
import io
import json

from omtx.aggregation import Spool
from omtx.domain import Job, JobStatus


def make_job(index: int, status: JobStatus, **metrics) -> Job:
    return Job(
        job_id=f"j{index}",
        batch_id="b1",
        index=index,
        shard=0,
        ligand_name=f"lig-{index}",
        smiles="CCO",
        canonical_smiles="CCO",
        inchikey="LFQSCWFLJHTTHZ-UHFFFAOYSA-N",
        input_hash="h",
        status=status,
        metrics=metrics,
        error=None if status == JobStatus.SUCCEEDED else "embedding failed",
        result_uri=f"gs://r/batches/b1/jobs/j{index}/results.json",
    )


def jobs():
    return [
        make_job(0, JobStatus.SUCCEEDED, qed=0.5, mw=100.0, inchikey="from-model"),
        make_job(1, JobStatus.FAILED),
        make_job(2, JobStatus.SUCCEEDED, qed=0.9, mw=300.0, lipinski_pass=True),
    ]


def test_csv_has_every_metric_column_and_one_row_per_job(tmp_path):
    spool = Spool(tmp_path / "rows.jsonl").fill(jobs())
    out = io.StringIO()
    spool.write_csv(out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["job_id"] for r in rows] == ["j0", "j1", "j2"]
    assert spool.columns[-1] == "result_uri"
    assert {"qed", "mw", "lipinski_pass", "metric.inchikey"} <= set(spool.columns)
    assert rows[0]["inchikey"] == "LFQSCWFLJHTTHZ-UHFFFAOYSA-N"  # the job's value wins over the model's
    assert rows[0]["metric.inchikey"] == "from-model"
    assert rows[1]["error"] == "embedding failed" and rows[1]["qed"] == ""


def test_json_streams_a_valid_document(tmp_path):
    spool = Spool(tmp_path / "rows.jsonl").fill(jobs())
    out = io.StringIO()
    spool.write_json({"batch_id": "b1", "total": 3}, out)
    doc = json.loads(out.getvalue())
    assert doc["batch_id"] == "b1" and doc["total"] == 3
    assert [j["index"] for j in doc["jobs"]] == [0, 1, 2]
    assert doc["columns"] == spool.columns


def test_stats_cover_succeeded_jobs_only(tmp_path):
    spool = Spool(tmp_path / "rows.jsonl").fill(jobs())
    stats = spool.metric_stats()
    assert stats["qed"] == {"n": 2, "mean": 0.7, "min": 0.5, "max": 0.9}
    assert "lipinski_pass" not in stats  # booleans are flags, not numbers
    assert spool.status_counts == {"succeeded": 2, "failed": 1}
