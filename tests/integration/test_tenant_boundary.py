"""The tenant boundary for stored objects, with two tenants on an api_key app against the
emulators: a tenant names by `gs://` URI only structures it uploaded and structure files of its
own jobs; every other reference is one 422 that says nothing about whether the object exists."""

import hashlib
import uuid

import pytest

from omtx import structures
from omtx.cli.demo_data import docking_request
from omtx.domain import Batch, Job, ProteinIn
from omtx.gcp import storage
from omtx.gcp.firestore import batches as batch_store
from omtx.gcp.firestore import finalization
from omtx.gcp.firestore import jobs as job_store
from omtx.ids import job_id, new_batch_id
from tests.integration.conftest import wait_for
from tests.integration.helpers import batch_request
from tests.integration.test_auth import bearer, create_key, keyed, tenant_names  # noqa: F401  (fixtures)

pytestmark = pytest.mark.integration


def vina_dry_run(client, key, structure):
    request = docking_request(1)
    request["protein"]["structure"] = structure
    return client.post("/v1/batches?dry_run=true", json=request, headers=bearer(key))


def design_dry_run(client, key, structure):
    request = {"target": {"structure": structure, "chain": "A"}, "hotspots": ["A30"], "num_designs": 10}
    return client.post("/v1/designs?dry_run=true", json=request, headers=bearer(key))


def seeded_job_with_complex(settings, tenant: str, text: str) -> str:
    """A finished job of `tenant` whose files include complex.cif (as a docking job leaves them)."""
    batch_id = new_batch_id()
    job = Job(
        job_id=job_id(batch_id, 0),
        batch_id=batch_id,
        tenant=tenant,
        model="vina",
        index=0,
        shard=0,
        ligand_name="l0",
        smiles="CCO",
        canonical_smiles="CCO",
        inchikey="LFQSCWFLJHTTHZ-UHFFFAOYSA-N",
        input_hash="h0",
    )
    uri = storage.put_bytes(
        settings.results_bucket, f"batches/{batch_id}/jobs/{job.job_id}/complex.cif", text.encode(), "chemical/x-mmcif"
    )
    job.files = {"complex.cif": uri}
    batch = Batch(
        batch_id=batch_id,
        tenant=tenant,
        model="vina",
        model_version="v",
        protein=ProteinIn(sequence="MENFQK"),
        total=1,
        shard_count=1,
        input_uri=f"gs://{settings.inputs_bucket}/batches/{batch_id}/input.json",
    )
    batch_store.create_batch(batch, [job])
    return uri


def test_a_tenant_uses_its_own_structures_and_no_one_elses(keyed, tenant_names, settings):  # noqa: F811
    acme, globex = tenant_names
    a, g = create_key(acme, "pro"), create_key(globex, "pro")
    receptor = docking_request(1)["protein"]["structure"]

    uploaded = keyed.post("/v1/structures", json={"structure": receptor}, headers=bearer(a))
    assert uploaded.status_code == 201, uploaded.get_json()
    mine = uploaded.get_json()["uri"]
    digest = hashlib.sha256(receptor.encode()).hexdigest()
    assert mine == f"gs://{settings.inputs_bucket}/structures/{acme}/{digest}.pdb"
    again = keyed.post("/v1/structures", json={"structure": receptor}, headers=bearer(a))
    assert again.get_json()["uri"] == mine  # content-addressed
    refused_upload = keyed.post("/v1/structures", json={"structure": "hello"}, headers=bearer(a))
    assert refused_upload.status_code == 422 and "ATOM" in refused_upload.get_json()["detail"][0]["msg"]

    # A's objects of every kind: its upload, a job's complex, its batch's exports and input.
    complex_uri = seeded_job_with_complex(settings, acme, storage.get_bytes(mine).decode())
    created = keyed.post("/v1/batches", json=batch_request(2, cache=False), headers=bearer(a))
    assert created.status_code == 202, created.get_json()
    b = created.get_json()["batch_id"]
    wait_for(lambda: finalization.finalization_done(b), timeout_s=90)
    finished = batch_store.get_batch(b)
    a_objects = [mine, complex_uri, finished.input_uri, *finished.results.values()]
    a_objects += [uri for job in job_store.iter_jobs(b) for uri in [job.result_uri, *job.files.values()] if uri]

    # A may dock into its upload and into its own job's complex (a copy lands in its folder).
    assert vina_dry_run(keyed, a, mine).status_code == 200
    own_complex = vina_dry_run(keyed, a, complex_uri)
    assert own_complex.status_code == 200, own_complex.get_json()
    docking = docking_request(1)
    docking["protein"]["structure"] = complex_uri
    submitted = keyed.post("/v1/batches", json=docking, headers=bearer(a))
    assert submitted.status_code == 202, submitted.get_json()
    kept = batch_store.get_batch(submitted.get_json()["batch_id"]).protein.structure
    assert structures.parse_stored(kept, settings.inputs_bucket).tenant == acme

    # B gets one answer for each of A's objects, in each field that takes a structure.
    missing = [
        f"gs://{settings.inputs_bucket}/structures/{acme}/{'0' * 64}.pdb",
        f"gs://{settings.results_bucket}/batches/b{'0' * 16}/jobs/{'0' * 16}/complex.cif",
    ]
    messages = set()
    for uri in a_objects + missing:
        for dry_run, loc in ((vina_dry_run, ["protein", "structure"]), (design_dry_run, ["target", "structure"])):
            answer = dry_run(keyed, g, uri)
            assert answer.status_code == 422, (uri, answer.get_json())
            detail = answer.get_json()["detail"]
            assert [d["loc"] for d in detail] == [loc], detail
            messages.add(detail[0]["msg"])
    assert messages == {structures.NOT_YOURS}  # the same words whether the object exists or not
    # ... while A still uses its own.
    assert vina_dry_run(keyed, a, mine).status_code == 200


@pytest.mark.parametrize(
    "uri",
    [
        "gs://no-such-bucket-{u}/receptor.pdb",
        "gs://{inputs}/../{results}/x.pdb",
        "gs://{inputs}/structures/{t}/../../x.pdb",
        "gs://{inputs}/structures/{t}/%2e%2e/x.pdb",
        "gs://{inputs}//structures/{t}/x.pdb",
        "gs://",
        "gs:///x.pdb",
        "gs://{inputs}/structures/{t}/" + "a" * 64 + ".pdb?generation=1",
    ],
)
def test_malformed_and_foreign_uris_are_422_not_500(keyed, tenant_names, settings, uri):  # noqa: F811
    tenant, _ = tenant_names
    key = create_key(tenant, "pro")
    uri = uri.format(u=uuid.uuid4().hex[:6], inputs=settings.inputs_bucket, results=settings.results_bucket, t=tenant)
    answer = vina_dry_run(keyed, key, uri)
    assert answer.status_code == 422, answer.get_json()
    assert answer.get_json()["detail"][0]["loc"] == ["protein", "structure"]
