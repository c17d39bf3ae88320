from __future__ import annotations

from typing import Any

CDK2_FRAGMENT = "MENFQKVEKIGEGTYGVVYKARNKLTGEVVALKKIRLDTETEGVPSTAIREISLLKE"
LIGANDS = [
    ("aspirin", "CC(=O)Oc1ccccc1C(=O)O"),
    ("caffeine", "Cn1cnc2c1c(=O)n(C)c(=O)n2C"),
    ("ibuprofen", "CC(C)Cc1ccc(cc1)C(C)C(=O)O"),
    ("paracetamol", "CC(=O)Nc1ccc(O)cc1"),
    ("olomoucine", "CNc1nc(NCCO)nc2c1ncn2C"),
    ("roscovitine", "CCC(CO)Nc1nc(NCc2ccccc2)c2ncn(C(C)C)c2n1"),
    ("staurosporine-core", "O=C1NCc2c1c1c3ccccc3[nH]c1c1[nH]c3ccccc3c21"),
    ("ethanol", "CCO"),
    ("benzene", "c1ccccc1"),
    ("sodium-acetate", "CC(=O)[O-].[Na+]"),
    ("glycine", "NCC(=O)O"),
    ("toluene", "Cc1ccccc1"),
]


def batch_request(n: int = 12, **overrides: Any) -> dict[str, Any]:
    ligands = [{"name": f"{name}-{i}", "smiles": smi} for i, (name, smi) in enumerate((LIGANDS * 100)[:n])]
    return {"name": "integration", "protein": {"sequence": CDK2_FRAGMENT}, "ligands": ligands} | overrides


def seed_batch(n: int, shards: int = 1) -> tuple[Any, list[Any]]:
    """A batch and its jobs written straight to Firestore, with nothing dispatched: the test then
    plays the workers' part and controls every delivery itself."""
    from omtx.domain import Batch, Job, ProteinIn
    from omtx.gcp.firestore import batches as batch_store
    from omtx.ids import job_id, new_batch_id, shard_of

    batch_id = new_batch_id()
    batch = Batch(
        batch_id=batch_id,
        tenant="default",
        model="rdkit_props",
        model_version="rdkit-props-1",
        protein=ProteinIn(sequence=CDK2_FRAGMENT),
        total=n,
        shard_count=shards,
        input_uri=f"gs://omtx-inputs/batches/{batch_id}/input.json",
    )
    jobs = [
        Job(
            job_id=job_id(batch_id, i),
            batch_id=batch_id,
            model="rdkit_props",
            index=i,
            shard=shard_of(i, n, shards),
            ligand_name=f"l{i}",
            smiles="CCO",
            canonical_smiles="CCO",
            inchikey="LFQSCWFLJHTTHZ-UHFFFAOYSA-N",
            input_hash=f"h{i}",
        )
        for i in range(n)
    ]
    batch_store.create_batch(batch, jobs)
    return batch, jobs
