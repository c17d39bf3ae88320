"""Aggregation benchmark: N synthetic results (rdkit_props-shaped) through every result file the
aggregator writes (JSON, CSV, Parquet, job index, summary, report), without storage I/O.

Prints time and peak RSS for each N, so memory growth with N is visible.

    .venv/bin/python benchmarks/aggregation.py --jobs 10000 100000
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import resource
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path


def synthetic_jobs(n: int) -> Iterator[object]:
    from omtx.domain import Job, JobStatus

    rng = random.Random(1)
    for i in range(n):
        ok = rng.random() > 0.02
        yield Job(
            job_id=f"{i:016x}",
            batch_id="bbench",
            index=i,
            shard=i % 256,
            ligand_name=f"ZINC{i:08d}",
            smiles="CC(C)Cc1ccc(cc1)C(C)C(=O)O",
            canonical_smiles="CC(C)Cc1ccc(C(C)C(=O)O)cc1",
            inchikey="HEFNNWSXXWATRW-UHFFFAOYSA-N",
            input_hash=f"{i:064x}",
            status=JobStatus.SUCCEEDED if ok else JobStatus.FAILED,
            error=None if ok else "3D embedding failed",
            result_uri=f"gs://omtx-results/batches/bbench/jobs/{i:016x}/results.json",
            files={"structure.sdf": f"gs://omtx-results/batches/bbench/jobs/{i:016x}/structure.sdf"},
            metrics={
                "mw": rng.uniform(150, 650),
                "clogp": rng.uniform(-2, 7),
                "tpsa": rng.uniform(10, 160),
                "hbd": rng.randint(0, 6),
                "hba": rng.randint(0, 12),
                "rotatable_bonds": rng.randint(0, 14),
                "qed": rng.random(),
                "lipinski_violations": rng.randint(0, 2),
                "lipinski_pass": rng.random() > 0.2,
                "formula": "C13H18O2",
                "mmff_energy": rng.uniform(-50, 200),
            }
            if ok
            else {},
        )


def run(n: int, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    from omtx.aggregation import TOP_HITS, Spool
    from omtx.report.html import render

    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        spool = Spool(work / "rows.jsonl", "qed", True).fill(
            synthetic_jobs(n), {"model": "rdkit_props", "model_version": "1", "params": "{}", "seed": 42}
        )
        header = {
            "batch_id": "bbench",
            "name": "bench",
            "model": "rdkit_props",
            "model_version": "1",
            "status": "completed",
            "total": n,
            "succeeded": spool.status_counts.get("succeeded", 0),
            "failed": spool.status_counts.get("failed", 0),
            "primary_metric": "qed",
            "higher_is_better": True,
        }
        with (
            (work / "aggregated.json").open("w") as aggregated,
            (work / "batch_results.csv").open("w") as table,
            (work / "job_index.json").open("w") as index,
        ):
            spool.export(header, aggregated, table, index, work / "batch_results.parquet")
        stats = spool.metric_stats()
        (work / "summary.json").write_text(json.dumps(header | {"metrics": stats, "best": spool.best()}))
        (work / "report.html").write_text(render(header, stats, spool.best(TOP_HITS), spool.values("qed"), []))
        sizes = {p.name: p.stat().st_size for p in work.iterdir()}
    elapsed = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put((elapsed, peak_mib, sizes))


def baseline(queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    import pyarrow.parquet  # noqa: F401

    import omtx.aggregation
    import omtx.report.html  # noqa: F401

    queue.put(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    ctx = multiprocessing.get_context("spawn")  # a fresh process per run: peak RSS is that run's own
    queue = ctx.Queue()
    proc = ctx.Process(target=baseline, args=(queue,))
    proc.start()
    print(f"baseline RSS after imports: {queue.get():.0f} MiB")
    proc.join()
    for n in args.jobs:
        proc = ctx.Process(target=run, args=(n, queue))
        proc.start()
        elapsed, peak, sizes = queue.get()
        proc.join()
        mb = {k: round(v / 2**20, 1) for k, v in sorted(sizes.items())}
        print(f"{n:>7} results: {elapsed:6.1f} s, {n / elapsed:,.0f} rows/s, peak RSS {peak:.0f} MiB; files MiB {mb}")


if __name__ == "__main__":
    main()
