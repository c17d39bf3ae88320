"""Docking benchmark: Vina into the shipped 1S2G receptor, maps reused vs recomputed per ligand.

"reused" is the platform's design: one engine process per (receptor, box) keeps Vina's affinity
maps for every ligand. "recomputed" starts a fresh engine (and so new maps) for each ligand, as a
one-process-per-ligand design would. Prints ligands/s for both and the time spent on maps.

    .venv/bin/python benchmarks/docking.py --ligands 8 --exhaustiveness 4
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ligands", type=int, default=8)
    parser.add_argument("--exhaustiveness", type=int, default=4)
    args = parser.parse_args()

    from omtx.cli.demo_data import NUCLEOSIDES, receptor_files
    from omtx.docking.box import reference_center
    from omtx.docking.engine import DockingEngine
    from omtx.docking.ligand import prepare_ligand
    from omtx.docking.receptor import prepare_receptor

    pdb, crystal = receptor_files()
    center = reference_center(crystal)
    size = (22.0, 22.0, 22.0)
    clock = time.perf_counter()
    receptor = prepare_receptor(pdb, center, guard_a=10.0)
    print(f"receptor preparation (meeko, once per worker): {time.perf_counter() - clock:.2f} s")
    path = Path(tempfile.mkdtemp(prefix="omtx-dock-")) / "receptor.pdbqt"
    path.write_text(receptor.pdbqt)
    ligands = [prepare_ligand(smiles, seed=42) for _, smiles in NUCLEOSIDES[: args.ligands]]

    # Interleaved, ligand by ligand, so the machine's background load hits both designs alike.
    engine = DockingEngine(str(path), center, size, seed=42)
    reused = fresh = fresh_setup = 0.0
    same = True
    for pdbqt in ligands:
        clock = time.perf_counter()
        kept = engine.dock(pdbqt, args.exhaustiveness, 9, timeout_s=600)
        reused += time.perf_counter() - clock
        clock = time.perf_counter()
        single = DockingEngine(str(path), center, size, seed=42)
        docked = single.dock(pdbqt, args.exhaustiveness, 9, timeout_s=600)
        fresh += time.perf_counter() - clock
        fresh_setup += single.setup_seconds
        single.close()
        same &= kept.scores == docked.scores
    reused += engine.setup_seconds  # the one start-up the reused design pays
    engine.close()
    n = len(ligands)
    print(f"{n} ligands, exhaustiveness {args.exhaustiveness}, 22 Å box, interleaved:")
    print(f"  maps reused     {n / reused:.3f} ligands/s ({reused:.1f} s, one engine start-up)")
    print(f"  maps recomputed {n / fresh:.3f} ligands/s ({fresh:.1f} s, of which start-up + maps {fresh_setup:.1f} s)")
    print(f"  speed-up {fresh / reused:.2f}x; identical scores: {same}")


if __name__ == "__main__":
    main()
