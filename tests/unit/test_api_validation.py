"""The submit service's refusals need no Google service: they happen before anything is stored."""

from pathlib import Path

import pytest
from functions_framework import create_app

SOURCE = Path(__file__).resolve().parents[2] / "services" / "submit" / "main.py"


@pytest.fixture(scope="module")
def client():
    return create_app("submit", str(SOURCE), "http").test_client()


def body(**overrides):
    return {"protein": {"sequence": "MENFQKVEKIGEGTYGVVYK"}, "ligands": [{"smiles": "CCO"}]} | overrides


def test_every_bad_row_is_listed(client):
    response = client.post(
        "/v1/batches",
        json=body(ligands=[{"smiles": "CCO"}, {"smiles": "C1CC"}, {"name": "n", "smiles": "XX"}, {"smiles": "CCN"}]),
    )
    assert response.status_code == 422
    detail = response.get_json()["detail"]
    assert [d["loc"] for d in detail] == [["ligands", 1, "smiles"], ["ligands", 2, "smiles"]]
    assert detail[1]["input"] == "XX"


def test_schema_errors_name_the_field(client):
    response = client.post("/v1/batches", json=body(protein={"sequence": "ACD*"}, ligands=[{"smile": "C"}]))
    assert response.status_code == 422
    locs = [d["loc"] for d in response.get_json()["detail"]]
    assert ["protein", "sequence"] in locs
    assert ["ligands", 0, "smile"] in locs


def test_protein_length_and_model_are_checked(client):
    short = client.post("/v1/batches", json=body(protein={"sequence": "ACDE"}))
    assert short.status_code == 422
    assert short.get_json()["detail"][0]["loc"] == ["protein", "sequence"]
    unknown = client.post("/v1/batches", json=body(model="alphafold9"))
    assert unknown.status_code == 422
    assert "rdkit_props" in unknown.get_json()["detail"][0]["msg"]
    bad_param = client.post("/v1/batches", json=body(params={"seed": -1}))
    assert bad_param.get_json()["detail"][0]["loc"] == ["params", "seed"]


def test_too_many_ligands_is_413(client, monkeypatch):
    from omtx.settings import get_settings

    monkeypatch.setenv("OMTX_MAX_LIGANDS", "2")
    get_settings.cache_clear()
    response = client.post("/v1/batches", json=body(ligands=[{"smiles": "C"}] * 3))
    assert response.status_code == 413


def test_not_json_and_unknown_routes(client):
    assert client.post("/v1/batches", data="x", content_type="text/plain").status_code == 400
    assert client.get("/v2/nothing").status_code == 404
    assert client.delete("/v1/batches").status_code == 405


def test_schema_and_chemistry_row_errors_come_in_one_422_and_skip_skips_both(client):
    # Issue 12: an empty SMILES (the schema's) used to hide the other rows' RDKit problems.
    rows = [{"smiles": "CCO"}, {"smiles": ""}, {"smiles": "C1CC"}, {"smiles": "Cα"}, {"smiles": "C" * 5_001}]
    refused = client.post("/v1/batches", json=body(ligands=rows))
    assert refused.status_code == 422
    assert [d["loc"] for d in refused.get_json()["detail"]] == [["ligands", i, "smiles"] for i in (1, 2, 3, 4)]
    dry = client.post("/v1/batches?dry_run=true", json=body(ligands=rows, on_invalid="skip"))
    assert dry.status_code == 200
    outcome = dry.get_json()
    assert (outcome["accepted"], outcome["rejected"]) == (1, 4)
    assert [d["loc"][1] for d in outcome["rejected_rows"]] == [1, 2, 3, 4]
