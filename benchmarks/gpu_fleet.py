"""GPU fleet simulation: GPU-seconds per ligand and makespan by chunk size and container design.

For Boltz-2 and Chai-1 figures (research/MODELS.md; assumptions marked in omtx/fleet.py), prints
per chunk size and design: billed GPU-seconds per ligand against pure inference, the makespan
against the ideal N·t/G, and whether the row meets the goal (overhead ≤ 10 %, makespan within
10 % of ideal). A simulation, not a measurement: it runs in seconds, without a GPU.

    .venv/bin/python benchmarks/gpu_fleet.py
    .venv/bin/python benchmarks/gpu_fleet.py --ligands 1000 --cv 1.0
"""

from __future__ import annotations

import argparse

from omtx.fleet import (
    BOLTZ2,
    CHAI1,
    MAKESPAN_GOAL,
    OVERHEAD_GOAL,
    Design,
    FleetFigures,
    FleetResult,
    ModelFigures,
    Scenario,
    simulate,
)

# Design name → (how it is built, the Design without its chunk size).
DESIGNS: dict[str, tuple[str, Design]] = {
    "per-call": (
        "one `boltz predict` per chunk: weights load every call; Modal's queue; fixed chunks (today)",
        Design(chunk_size=1),
    ),
    "per-call-static": (
        "as per-call, but chunk i goes to container i mod G instead of the next free one",
        Design(chunk_size=1, queue="static"),
    ),
    "per-call-gpu-msa": (
        "as per-call, with `--use_msa_server` in the worker: one MSA per ligand on the GPU",
        Design(chunk_size=1, msa="per_ligand_on_gpu"),
    ),
    "per-call-balanced": (
        "as per-call, with a multiple of G chunks of equal size (none above the chunk size)",
        Design(chunk_size=1, chunking="balanced"),
    ),
    "warm": (
        "@app.cls + @modal.enter: weights load once per container; Modal's queue; fixed chunks",
        Design(chunk_size=1, weights="per_container"),
    ),
    "warm-balanced": (
        "warm, with a multiple of G chunks of equal size (none above the chunk size)",
        Design(chunk_size=1, weights="per_container", chunking="balanced"),
    ),
}


def verdict(result: FleetResult) -> str:
    return "yes" if result.meets_goal else "no"


def detail(model: ModelFigures, fleet: FleetFigures, args: argparse.Namespace) -> dict[tuple[str, int], FleetResult]:
    results: dict[tuple[str, int], FleetResult] = {}
    for name in args.designs:
        for chunk in args.chunks:
            design = DESIGNS[name][1].model_copy(update={"chunk_size": chunk})
            scenario = Scenario(model=model, fleet=fleet, design=design, ligands=args.ligands, seed=args.seed)
            results[name, chunk] = simulate(scenario)
    first = next(iter(results.values()))
    figures = (
        f"{model.inference_s:g} s/ligand (cv {model.inference_cv:g}), weights {model.weight_load_s:g} s, "
        f"call {model.call_overhead_s:g} s, MSA {model.msa_s:g} s, cold start {fleet.cold_start_s:g} s, "
        f"scaledown {fleet.scaledown_window_s:g} s"
    )
    print(f"\n{model.name}: {figures}")
    print(
        f"{args.ligands:,} ligands on {fleet.gpus} GPUs: pure inference {first.inference_s_per_ligand:.2f} s/ligand, "
        f"ideal N·t/G {first.ideal_makespan_s:,.0f} s"
    )
    header = (
        f"{'design':<18} {'chunk':>5} {'calls':>6} {'GPU·s/lig':>9} {'overhead':>9} {'makespan s':>10} "
        f"{'vs ideal':>9} {'util':>5} {'cold':>4} {'loads':>6} {'$/1k lig':>8}  goal"
    )
    print(header)
    print("-" * len(header))
    for (name, chunk), r in results.items():
        print(
            f"{name:<18} {chunk:>5} {len(r.calls):>6} {r.gpu_s_per_ligand:>9.2f} {r.overhead:>+9.1%} "
            f"{r.makespan_s:>10,.0f} {r.makespan_excess:>+9.1%} {r.utilisation:>5.0%} {r.cold_starts:>4} "
            f"{r.weight_loads:>6} {r.usd_per_1000_ligands:>8.2f}  {verdict(r)}"
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ligands", type=int, default=10_000)
    parser.add_argument("--gpus", type=int, default=20, help="Modal max_containers")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--chunks", type=int, nargs="+", default=[1, 8, 32, 128])
    parser.add_argument("--designs", nargs="+", choices=list(DESIGNS), default=list(DESIGNS))
    parser.add_argument("--cv", type=float, help="per-ligand inference-time spread for both models (assumed 0.25)")
    parser.add_argument("--cold-start-s", type=float, help="container cold start (assumed 30 s)")
    args = parser.parse_args()

    fleet = FleetFigures(gpus=args.gpus)
    if args.cold_start_s is not None:
        fleet = fleet.model_copy(update={"cold_start_s": args.cold_start_s})
    models = [BOLTZ2, CHAI1]
    if args.cv is not None:
        models = [m.model_copy(update={"inference_cv": args.cv}) for m in models]

    print("Designs:")
    for name in args.designs:
        print(f"  {name:<18} {DESIGNS[name][0]}")
    tables = {model.name: detail(model, fleet, args) for model in models}

    print(
        f"\nSummary: billed overhead / makespan vs ideal; ok = overhead ≤ {OVERHEAD_GOAL:.0%} "
        f"and makespan ≤ ideal + {MAKESPAN_GOAL:.0%}"
    )
    print(f"{'model':<7} {'design':<18} " + " ".join(f"{'chunk ' + str(c):>22}" for c in args.chunks))
    for model_name, results in tables.items():
        for name in args.designs:
            cells = []
            for chunk in args.chunks:
                r = results[name, chunk]
                mark = "ok" if r.meets_goal else "--"
                cells.append(f"{r.overhead:+.1%} / {r.makespan_excess:+.1%} {mark}".rjust(22))
            print(f"{model_name:<7} {name:<18} " + " ".join(cells))


if __name__ == "__main__":
    main()
