"""View exports: CSV with a byte-order mark, CRLF and neutralised cells; Parquet that reads back;
both streamed in parts; a view of no rows is still a valid file."""

from __future__ import annotations

import io

import pyarrow.parquet as pq
import pytest

from omtx.domain import Batch, ProteinIn
from omtx.errors import Conflict
from omtx.results import exports, live
from omtx.results import rows as result_rows
from omtx.results.catalog import Catalog
from omtx.results.query import ResultsQuery
from omtx.results.table import ResultsTable

DOCS = [
    {
        "job_id": "j0",
        "index": 0,
        "ligand_name": "=cmd()",
        "status": "succeeded",
        "metrics": {"qed": 0.5, "raw": {"a": 1}},
    },
    {"job_id": "j1", "index": 1, "ligand_name": "-7", "status": "failed", "metrics": {}},
]
CATALOG = Catalog.of({"qed": "number", "hbd": "number", "raw": "json"})


def table() -> ResultsTable:
    return ResultsTable.from_rows([result_rows.from_document("b", d, ResultsQuery()) for d in DOCS], CATALOG.metrics)


def test_csv_of_a_view_is_spreadsheet_safe() -> None:
    view = ResultsQuery(
        order="qed", descending=True, fields=frozenset({"job_id", "index", "ligand_name", "qed", "raw"})
    )
    columns, frames = exports.table_frames(table(), view)
    body = b"".join(exports.csv_stream(columns, frames))
    assert body == (
        b'\xef\xbb\xbfjob_id,index,ligand_name,qed,raw\r\nj0,0,\'=cmd(),0.5,"{""a"": 1}"\r\nj1,1,\'-7,,\r\n'
    )
    rows = (result_rows.from_document("b", d, view) for d in DOCS)
    columns, _, chunks = exports.live_chunks(rows, view, CATALOG)
    assert b"".join(exports.csv_stream(columns, chunks)) == body, "both sources write the same file"


def test_parquet_of_a_view_reads_back_and_an_empty_view_is_a_file() -> None:
    columns, frames = exports.table_frames(table(), ResultsQuery())
    back = pq.read_table(io.BytesIO(b"".join(exports.parquet_stream(frames))))
    assert back.column("job_id").to_pylist() == ["j0", "j1"] and back.column("qed").to_pylist() == [0.5, None]
    assert back.column_names == columns
    _, frames = exports.table_frames(table(), ResultsQuery(status="cancelled"))
    assert pq.read_table(io.BytesIO(b"".join(exports.parquet_stream(frames)))).num_rows == 0
    _, schema, chunks = exports.live_chunks(iter([]), ResultsQuery(), CATALOG)
    assert (
        pq.read_table(io.BytesIO(b"".join(exports.parquet_stream(exports.arrow_groups(schema, chunks))))).num_rows == 0
    )


def test_facets_of_a_running_batch_over_the_bound_are_a_409() -> None:
    batch = Batch(
        batch_id="b1", tenant="t", model="instant", model_version="1", protein=ProteinIn(sequence="MENFQ"),
        total=10**7, shard_count=1, input_uri="gs://x/y",
    )  # fmt: skip
    with pytest.raises(Conflict, match="once it finishes"):
        live.scan_table(batch, CATALOG)
