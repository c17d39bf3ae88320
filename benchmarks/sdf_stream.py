"""SD file streaming benchmark: a 100,000-record SD file (3D conformers with hydrogens, as docking
and conformer tools write them) read the way a drop reads it: 1 MiB chunks, each record converted
to SMILES by RDKit as it ends, then the batch request built from the rows (omtx.drops.parse, with
the defaults a user gets). Each measurement runs in a fresh process, so its peak RSS is its own.

Prints the file size, the time, records per second and the peak RSS above the process's
resident set before reading (its imports), beside what holding the file's bytes alone takes.
Linux only (/proc/self/status, clear_refs).

    .venv/bin/python benchmarks/sdf_stream.py --records 100000
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from pathlib import Path

# Drug-like molecules of different sizes (CDK2 ligands and approved drugs)
SMILES = [
    "CCC(CO)Nc1nc(NCc2ccccc2)c2ncn(C(C)C)c2n1",
    "CNc1nc(NCCO)nc2c1ncn2C",
    "CC(=O)Oc1ccccc1C(=O)O",
    "Cn1cnc2c1c(=O)n(C)c(=O)n2C",
    "CC(C)Cc1ccc(cc1)C(C)C(=O)O",
    "O=C1NCc2c1c1c3ccccc3[nH]c1c1[nH]c3ccccc3c21",
    "COc1cc2ncnc(Nc3ccc(F)c(Cl)c3)c2cc1OCCCN1CCOCC1",
    "Cc1ccc(NC(=O)c2ccc(CN3CCN(C)CC3)cc2)cc1Nc1nccc(-c2cccnc2)n1",
    "CS(=O)(=O)CCNCc1ccc(-c2ccc3ncnc(Nc4ccc(OCc5cccc(F)c5)c(Cl)c4)c3c2)o1",
    "C[C@H](N)C(=O)N[C@@H](Cc1ccccc1)C(=O)O",
]


def write_sdf(path: Path, records: int) -> None:
    from rdkit import Chem
    from rdkit.Chem import AllChem

    blocks = []
    for i, smiles in enumerate(SMILES):
        mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
        AllChem.EmbedMolecule(mol, randomSeed=i + 1)
        blocks.append(Chem.MolToMolBlock(mol).split("\n", 1)[1])  # without its title line
    with path.open("w") as out:
        for n in range(records):
            out.write(f"ZINC{n:08d}\n{blocks[n % len(blocks)]}>  <vendor_id>\nV-{n}\n\n$$$$\n")


def _measure(path: str, whole: bool, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    from omtx.drops import LibraryRequest, parse  # the imports are the baseline

    request = LibraryRequest.model_validate({"protein": {"sequence": "MENFQKVEKIGEGTYGVVYKARNKLTG"}})
    baseline = _rss_mib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # the peak (VmHWM) restarts from here
    started = time.perf_counter()
    if whole:
        data = Path(path).read_bytes()
        rows = len(data)
    else:
        with open(path, "rb") as handle:
            parsed = parse(handle, "bench.sdf", request, max_rows=100_000)
        rows = len(parsed.request.ligands)
        assert not [row for row in parsed.library.rows if row.problem], "every record should read"
    seconds = time.perf_counter() - started
    queue.put((rows, seconds, _rss_mib("VmHWM") - baseline))


def _rss_mib(field: str) -> float:
    """Linux: the process's resident set (VmRSS) or its peak since the last reset (VmHWM)."""
    line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith(field + ":"))
    return int(line.split()[1]) / 1024


def measure(path: Path, whole: bool) -> tuple[int, float, float]:
    spawn = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue = spawn.Queue()  # type: ignore[type-arg]
    child = spawn.Process(target=_measure, args=(str(path), whole, queue))
    child.start()
    result = queue.get()
    child.join()
    return result  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "library.sdf"
        write_sdf(path, args.records)
        size_mb = path.stat().st_size / 2**20
        print(f"SD file: {args.records} records, {size_mb:.0f} MiB (3D, explicit hydrogens)")
        records, seconds, streamed_mb = measure(path, whole=False)
        print(
            f"streamed (1 MiB chunks) into a batch request: {records} ligands in {seconds:.1f} s "
            f"({records / seconds:,.0f} records/s); peak RSS +{streamed_mb:.0f} MiB "
            f"({streamed_mb / size_mb:.2f}× the file size)"
        )
        _, _, whole_mb = measure(path, whole=True)
        print(f"holding the file's bytes alone: peak RSS +{whole_mb:.0f} MiB ({whole_mb / size_mb:.2f}× the file size)")


if __name__ == "__main__":
    main()
