"""Issue 12 on the running stack: one request with many kinds of bad row gets one 422 naming every
one; with on_invalid=skip the good rows run and every bad one is listed. A CSV drop, which shares
the validation path, is held to the same policy."""

import pytest
import requests

from omtx.domain import utcnow
from omtx.gcp.firestore import batches as batch_store
from omtx.gcp.firestore import jobs as job_store
from tests.integration.conftest import wait_for
from tests.integration.helpers import CDK2_FRAGMENT
from tests.integration.test_front_door import drop, result_of

pytestmark = pytest.mark.integration

GOOD = [("aspirin", "CC(=O)Oc1ccccc1C(=O)O"), ("caffeine", "Cn1cnc2c1c(=O)n(C)c(=O)n2C"), ("ethanol", "CCO")]
BAD = [
    ("empty", ""),
    ("too-long", "C" * 5_001),
    ("full-width", "CC（C）O"),
    ("nbsp", "CC\u00a0O"),
    ("greek", "Cα"),
    ("salt-only", "[Na+].[Cl-]"),
    ("radical", "C[CH2]"),
    ("dummy", "*c1ccccc1"),
    ("attachment", "[*:1]CC"),
    ("reaction", "CCO>>CC=O"),
    ("query", "[C,N]CC"),
    ("unparsable", "C1CC"),
]
# good rows first, last and in the middle, so the row numbers of everything after a bad row count
ROWS = [GOOD[0], *BAD[:6], GOOD[1], *BAD[6:], GOOD[2]]
BAD_ROWS = [i for i, row in enumerate(ROWS) if row in BAD]


def request_body(**overrides):
    ligands = [{"name": name, "smiles": smiles} for name, smiles in ROWS]
    return {"name": "policy", "protein": {"sequence": CDK2_FRAGMENT}, "ligands": ligands} | overrides


def post(settings, body):
    return requests.post(f"{settings.api_base_url}/v1/batches", json=body, timeout=60)


def test_one_422_names_every_bad_row_whatever_layer_found_it(settings):
    before = len(batch_store.list_batches("default", limit=1000)[0])
    response = post(settings, request_body())
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "validation_failed"
    detail = body["detail"]
    assert [d["loc"] for d in detail] == [["ligands", i, "smiles"] for i in BAD_ROWS]
    messages = {ROWS[d["loc"][1]][0]: d["msg"] for d in detail}
    assert "at least 1 character" in messages["empty"] and "at most 5000" in messages["too-long"]
    assert messages["full-width"].startswith("SMILES is ASCII only: character 3 is U+FF08")
    assert messages["salt-only"].startswith("no organic component")
    assert messages["radical"].startswith("a radical") and messages["reaction"].startswith("a reaction SMILES")
    assert len(batch_store.list_batches("default", limit=1000)[0]) == before  # nothing created


def test_skip_runs_exactly_the_good_rows_and_lists_every_bad_one(settings):
    response = post(settings, request_body(on_invalid="skip"))
    assert response.status_code == 202
    accepted = response.json()
    assert (accepted["accepted"], accepted["rejected"]) == (len(GOOD), len(BAD))
    assert [d["loc"][1] for d in accepted["rejected_rows"]] == BAD_ROWS
    batch_id = accepted["batch_id"]
    done = wait_for(lambda: (b := batch_store.get_batch(batch_id)) and b.status.is_final and b, timeout_s=90)
    assert done.status == "completed" and (done.total, done.succeeded, done.rejected) == (3, 3, len(BAD))
    jobs = list(job_store.iter_jobs(batch_id))
    assert sorted(j.ligand_name for j in jobs) == sorted(name for name, _ in GOOD)


def test_a_csv_drop_is_held_to_the_same_policy(settings):
    rows = "".join(f'{name},"{smiles}"\n' for name, smiles in ROWS)  # quoted: [C,N] has a comma
    csv_text = f"# protein: {CDK2_FRAGMENT}\n# on_invalid: skip\nname,smiles\n{rows}"
    name = f"policy-{utcnow().timestamp():.0f}.csv"
    _, generation = drop(settings, name, csv_text.encode())
    result = result_of(settings, name, generation)
    # the empty cell is the chemistry's "empty SMILES"; every other row as in the API
    assert result["status"] == "accepted" and (result["accepted"], result["rejected"]) == (len(GOOD), len(BAD))
    assert [e["loc"][1] for e in result["errors"]] == BAD_ROWS
    assert [e["line"] for e in result["errors"]] == [i + 4 for i in BAD_ROWS]  # 3 lines above the first row
    batch_id = result["batch_id"]
    done = wait_for(lambda: (b := batch_store.get_batch(batch_id)) and b.status.is_final and b, timeout_s=90)
    assert (done.total, done.succeeded) == (3, 3)
