"""PoseBusters benchmark: the cost of checking poses against the cost of the docking job itself.

Docks ligands into the shipped 1S2G receptor with the `vina` model at the settings a user gets
(VinaParams defaults: exhaustiveness 8, 9 poses): the demo's crystal ligand (18 heavy atoms) and
two drug-sized ones (imatinib, 37; atorvastatin, 41), because PoseBusters' energy test embeds 50
conformers of the molecule for every pose it checks, a cost that grows with size and flexibility.
For each ligand it prints the docking job's own time, what the checks cost inside that same job
(as the model runs them, FULL_CHECK_POSES: the full set on every pose), and the cost per pose of
the cheap set (without the energy test) and the full set (best of --repeat runs on the job's top
pose), with the share of the docking time each policy would take. The issue's bar: the
checks must not more than double a docking job. Also times one pose against the whole receptor,
the reason omtx.poses crops it.

    .venv/bin/python benchmarks/pose_checks.py
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

LIGANDS = {
    "2'-deoxyadenosine": "Nc1ncnc2c1ncn2[C@H]1C[C@H](O)[C@@H](CO)O1",
    "imatinib": "Cc1ccc(NC(=O)c2ccc(CN3CCN(C)CC3)cc2)cc1Nc1nccc(-c2cccnc2)n1",
    "atorvastatin": "CC(C)c1c(C(=O)Nc2ccccc2)c(-c2ccccc2)c(-c2ccc(F)cc2)n1CC[C@@H](O)C[C@@H](O)CC(=O)O",
}


def best_of(repeat: int, run: Callable[..., object], *args: object, **kwargs: object) -> float:
    """The fastest of `repeat` runs: on a shared machine, the closest to the work's own cost."""
    times = []
    for _ in range(repeat):
        clock = time.perf_counter()
        run(*args, **kwargs)
        times.append(time.perf_counter() - clock)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ligands", type=int, default=len(LIGANDS), help="how many of the three, in order")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    from rdkit import Chem

    from omtx.cli.demo_data import chain_sequence, receptor_files
    from omtx.domain import ProteinIn
    from omtx.poses import FULL_CHECK_POSES, ProteinAtoms, check_poses
    from omtx.poses import check as check_module
    from omtx.poses.stereo import reference
    from omtx.predictors.base import LigandTask
    from omtx.predictors.vina import VinaDocking, VinaParams

    clock = time.perf_counter()
    import posebusters  # noqa: F401  # the one-off import a worker process pays (pandas)

    import_s = time.perf_counter() - clock
    receptor_pdb, crystal = receptor_files()
    # the defaults, but the per-ligand time limit: a loaded machine must not cut a measurement short
    params = VinaParams(reference_sdf=crystal, timeout_s=3600)
    protein = ProteinIn(id="1S2G_A", sequence=chain_sequence(receptor_pdb), structure=receptor_pdb)
    docking = VinaDocking()
    print(f"vina defaults: exhaustiveness {params.exhaustiveness}, {params.n_poses} poses")
    print(f"PoseBusters import, once per worker process: {import_s:.1f} s")
    try:
        for i, (name, smiles) in enumerate(list(LIGANDS.items())[: args.ligands]):
            task = LigandTask(job_id=f"j{i}", index=i, name=name, canonical_smiles=smiles)
            clock = time.perf_counter()
            prediction = docking.predict(protein, task, params)
            job_s = time.perf_counter() - clock
            in_job = prediction.metrics["pb_seconds"]
            dock_s = job_s - in_job
            supplier = Chem.SDMolSupplier()
            supplier.SetData(prediction.files["poses.sdf"][0].decode(), removeHs=False)
            poses = list(supplier)
            assert docking._receptor is not None
            atoms = ProteinAtoms.from_pdb(docking._receptor.pdb)
            top = poses[:1]
            cheap = best_of(args.repeat, check_poses, top, smiles, atoms, full_poses=0)
            full = best_of(args.repeat, check_poses, top, smiles, atoms, full_poses=1)
            n = len(poses)
            top_full = n if FULL_CHECK_POSES is None else min(FULL_CHECK_POSES, n)
            as_run = full * top_full + cheap * (n - top_full)
            heavy = Chem.MolFromSmiles(smiles).GetNumHeavyAtoms()
            print(f"{name} ({heavy} heavy atoms, {n} poses, pb_valid={prediction.metrics['pb_valid']}):")
            print(f"  docking job without checks {dock_s:.1f} s; its checks {in_job:.1f} s = {in_job / dock_s:.0%}")
            print(f"  cost per pose: cheap set {cheap:.2f} s, full set {full:.2f} s")
            for label, seconds in (
                ("cheap set on every pose", cheap * n),
                ("full set on every pose", full * n),
                ("full on the top pose, cheap on the rest", full + cheap * (n - 1)),
                (f"as run (full set on {top_full} of {n})", as_run),
            ):
                verdict = "more than doubles it" if seconds > dock_s else "within the bar"
                print(f"  {label}: {seconds:.1f} s = {seconds / dock_s:.0%} of the docking time, {verdict}")
        name, smiles = next(iter(LIGANDS.items()))
        whole = Chem.MolFromPDBBlock(docking._receptor.pdb, sanitize=False, removeHs=False)
        mol = Chem.AddHs(Chem.MolFromMolBlock(crystal), addCoords=True)
        uncropped = best_of(args.repeat, check_module._bust, [(mol, reference(smiles, mol), whole, "cheap")])
        cropped = best_of(args.repeat, check_poses, [mol], smiles, atoms, full_poses=0)
        print(f"one pose (cheap set): whole receptor {uncropped:.2f} s, cropped pocket {cropped:.2f} s")
    finally:
        if docking._engine is not None:
            docking._engine.close()


if __name__ == "__main__":
    main()
