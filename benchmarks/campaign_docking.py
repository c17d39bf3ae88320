"""Docking stage throughput: a campaign's Vina stage through the local stack against a plain Vina
loop, side by side in one run.

The plain loop is the Vina Python API called directly in one process using both cores (cpu=2):
receptor and maps prepared once, then for each ligand meeko preparation and `dock`, with the same
ligands (the 1S2G nucleosides and purines), receptor, box, exhaustiveness, n_poses and seed as the
platform. The platform runs a two-stage campaign (`instant` on all, then `vina` on all of them,
no selection) with the default settings a user gets, and is timed from the docking stage's first
`dispatched` to its last job-done (Pub/Sub publish times). The plain loop runs before and after
the platform and the two timings are averaged, so background load drifting during the run hits
both sides alike.

    .venv/bin/python benchmarks/campaign_docking.py --ligands 16 --exhaustiveness 4
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import requests


def plain_loop(ligands: list[str], exhaustiveness: int, n_poses: int, seed: int) -> float:
    """Seconds for the whole loop, maps included."""
    from vina import Vina

    from omtx.cli.demo_data import receptor_files
    from omtx.docking.box import reference_center
    from omtx.docking.ligand import prepare_ligand
    from omtx.docking.receptor import prepare_receptor

    pdb, crystal = receptor_files()
    center = reference_center(crystal)
    started = time.perf_counter()
    receptor = prepare_receptor(pdb, center, guard_a=10.0)
    path = Path(tempfile.mkdtemp(prefix="omtx-plain-vina-")) / "receptor.pdbqt"
    path.write_text(receptor.pdbqt)
    vina = Vina(sf_name="vina", cpu=2, seed=seed, verbosity=0)
    vina.set_receptor(rigid_pdbqt_filename=str(path))
    vina.compute_vina_maps(center=list(center), box_size=[22.0, 22.0, 22.0])
    for smiles in ligands:
        vina.set_ligand_from_string(prepare_ligand(smiles, seed=seed))
        vina.dock(exhaustiveness=exhaustiveness, n_poses=n_poses)
        vina.energies(n_poses=n_poses)
        vina.poses(n_poses=n_poses)
    return time.perf_counter() - started


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ligands", type=int, default=16)
    parser.add_argument("--exhaustiveness", type=int, default=4)
    parser.add_argument("--base-port", type=int, default=33700)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="omtx-bench-dock-"))
    os.environ |= {"OMTX_BASE_PORT": str(args.base_port), "OMTX_STATE_DIR": str(work / "stack")}
    from google.cloud import pubsub_v1

    from omtx.cli.demo_data import NUCLEOSIDES, chain_sequence, receptor_files
    from omtx.devstack.stack import Stack
    from omtx.settings import get_settings

    # Low exhaustiveness keeps the run short (a few minutes); the platform's own per-ligand costs
    # (PoseBusters on every pose, files, messages) weigh more here than at Vina's default of 8.
    n_poses, seed = 9, 42
    chosen = [(name, smiles) for name, smiles in (NUCLEOSIDES * 4)[: args.ligands]]
    ligands = [{"name": f"{name}-{i}", "smiles": smiles} for i, (name, smiles) in enumerate(chosen)]
    before = plain_loop([s for _, s in chosen], args.exhaustiveness, n_poses, seed)

    settings = get_settings()
    stack = Stack(settings)
    stack.up()
    subscriber = pubsub_v1.SubscriberClient()
    subs = {}
    for topic in (settings.topic_dispatched, settings.topic_job_done, settings.topic_campaign_done):
        name = subscriber.subscription_path(settings.project, f"bench-{topic}-{uuid.uuid4().hex[:6]}")
        subscriber.create_subscription(name=name, topic=f"projects/{settings.project}/topics/{topic}")
        subs[topic] = name
    seen: dict[str, list[Any]] = {t: [] for t in subs}
    try:
        receptor, crystal = receptor_files()
        body = {
            "name": "docking throughput",
            "protein": {"sequence": chain_sequence(receptor), "structure": receptor},
            "ligands": ligands,
            "stages": [
                {"name": "pre", "model": "instant"},
                {
                    "name": "dock",
                    "model": "vina",
                    "params": {
                        "reference_sdf": crystal,
                        "exhaustiveness": args.exhaustiveness,
                        "n_poses": n_poses,
                        "seed": seed,
                    },
                },
            ],
        }
        response = requests.post(f"{settings.api_base_url}/v1/campaigns", json=body, timeout=300)
        response.raise_for_status()
        campaign_id = response.json()["campaign_id"]
        deadline = time.monotonic() + 3600
        while not any(m.attributes.get("campaign_id") == campaign_id for m in seen[settings.topic_campaign_done]):
            if time.monotonic() > deadline:
                raise SystemExit("no campaign-done within an hour")
            for topic, sub in subs.items():
                pulled = subscriber.pull(subscription=sub, max_messages=1000, timeout=2)
                if pulled.received_messages:
                    subscriber.acknowledge(subscription=sub, ack_ids=[m.ack_id for m in pulled.received_messages])
                    seen[topic] += [m.message for m in pulled.received_messages]
        status = requests.get(f"{settings.api_base_url}/v1/campaigns/{campaign_id}", timeout=60).json()
        dock = status["stages"][1]
        batch_id = dock["batch_id"]
        first = min(m.publish_time for m in seen[settings.topic_dispatched] if m.attributes.get("batch_id") == batch_id)
        last = max(m.publish_time for m in seen[settings.topic_job_done] if m.attributes.get("batch_id") == batch_id)
        platform_s = (last - first).total_seconds()
    finally:
        stack.down()
    after = plain_loop([s for _, s in chosen], args.exhaustiveness, n_poses, seed)
    plain_s = (before + after) / 2
    n = args.ligands
    print(
        f"ligands {n}, exhaustiveness {args.exhaustiveness}, n_poses {n_poses}, seed {seed}, box 22 Å on 1S2G's ligand"
    )
    print(f"docking stage succeeded        {dock['succeeded']}/{n}")
    print(f"plain Vina loop (cpu=2)        {before:.1f} s before, {after:.1f} s after → {n / plain_s:.3f} ligands/s")
    print(
        f"platform docking stage         {platform_s:.1f} s → {n / platform_s:.3f} ligands/s "
        "(first dispatch → last job-done)"
    )
    ratio = plain_s / platform_s
    print(f"platform / plain loop          {ratio:.1%}   (goal ≥ 90 %) {'PASS' if ratio >= 0.9 else 'FAIL'}")
    print(f"load average (1, 5, 15 min)    {', '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
