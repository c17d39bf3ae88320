"""Which gs:// references name a tenant's own structures, and the worker's re-check of a work
order (defence in depth: a tampered order cannot make the worker read another tenant's file)."""

import hashlib

import pytest

from omtx import structures
from omtx.domain import ProteinIn
from omtx.predictors.base import LigandTask, PredictionFailed
from omtx.worker import WorkOrder, structure_as_text

PDB = "ATOM      1  N   MET A   1      11.104   6.134  -6.504  1.00  0.00           N\nEND\n"
DIGEST = hashlib.sha256(PDB.encode()).hexdigest()
MINE = f"gs://omtx-inputs/structures/acme/{DIGEST}.pdb"


def test_a_stored_structure_is_named_by_tenant_and_content():
    stored = structures.for_text("acme", PDB)
    assert stored.uri("omtx-inputs") == MINE
    assert structures.parse_stored(MINE, "omtx-inputs") == stored
    assert structures.for_text("acme", "data_x\nloop_\n_atom_site.id\n").suffix == "cif"


@pytest.mark.parametrize(
    "uri",
    [
        f"gs://other-bucket/structures/acme/{DIGEST}.pdb",
        f"gs://omtx-inputs/structures/{DIGEST}.pdb",  # the old, tenant-less layout
        f"gs://omtx-inputs/structures/acme/../globex/{DIGEST}.pdb",
        f"gs://omtx-inputs/structures/acme/{DIGEST}.pdb?generation=1",
        f"gs://omtx-inputs/structures/acme/{DIGEST[:-1]}.pdb",
        f"gs://omtx-inputs/structures/acme/{DIGEST}.sdf",
        f"gs://omtx-inputs//structures/acme/{DIGEST}.pdb",
        "gs://omtx-inputs/structures/acme/%2e%2e/x.pdb",
    ],
)
def test_anything_but_the_exact_layout_names_nothing(uri):
    assert structures.parse_stored(uri, "omtx-inputs") is None


def test_a_job_file_reference_must_be_a_structure_file():
    base = f"gs://omtx-results/batches/b{'1' * 16}/jobs/{'2' * 16}"
    assert structures.parse_job_file(f"{base}/complex.cif", "omtx-results") == structures.JobFileRef(
        batch_id=f"b{'1' * 16}", job_id="2" * 16, name="complex.cif"
    )
    for name in ("results.json", "poses.sdf", "../complex.cif", "complex.cif/x"):
        assert structures.parse_job_file(f"{base}/{name}", "omtx-results") is None


def test_the_upload_needs_coordinates():
    assert structures.text_problem(PDB) is None
    assert "no ATOM" in (structures.text_problem("HEADER only\n") or "")
    assert "_atom_site" in (structures.text_problem("data_x\n_cell.length_a 1\n") or "")


def order(tenant: str, structure: str) -> WorkOrder:
    task = LigandTask(job_id="j1", index=0, name="l", canonical_smiles="CCO", shard=0, claim_token="t")
    protein = ProteinIn(sequence="MENFQK", structure=structure)
    return WorkOrder(batch_id="b1", tenant=tenant, model="vina", protein=protein, ligands=[task], executor="local")


@pytest.fixture
def bucket(monkeypatch):
    objects = {MINE: PDB.encode()}
    monkeypatch.setattr("omtx.gcp.storage.get_bytes", lambda uri: objects[uri])
    return objects


def test_the_worker_reads_its_tenants_structure(bucket):
    assert structure_as_text(order("acme", MINE)).structure == PDB
    assert structure_as_text(order("acme", PDB)).structure == PDB  # text passes through


@pytest.mark.parametrize("tenant", ["globex", ""])
def test_the_worker_refuses_another_tenants_structure(bucket, tenant):
    with pytest.raises(PredictionFailed, match="not a structure of this batch's tenant"):
        structure_as_text(order(tenant, MINE))


def test_the_worker_refuses_a_structure_that_does_not_match_its_digest(bucket):
    bucket[MINE] = PDB.replace("MET", "GLY").encode()
    with pytest.raises(PredictionFailed, match="sha256"):
        structure_as_text(order("acme", MINE))
