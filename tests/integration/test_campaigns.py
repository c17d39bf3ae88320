"""A three-stage campaign on the local stack, with every stage's batch-done delivered again and
again (duplicates through Pub/Sub, concurrent direct deliveries, replays after the end): each
stage starts once, each selection is exactly what its rule says, and one campaign-done."""

from __future__ import annotations

import hashlib
import json
import math
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from google.cloud import firestore

from omtx.events import BatchDone
from omtx.gcp import pubsub, storage
from omtx.gcp.clients import firestore_client
from omtx.gcp.firestore import campaigns as campaign_store
from omtx.usecases import campaigns
from omtx.usecases.reconcile import reconcile_once
from tests.integration.conftest import wait_for
from tests.integration.helpers import CDK2_FRAGMENT, LIGANDS

pytestmark = pytest.mark.integration

# 60 distinct molecules: the instant model scores a molecule, so repeats would tie
SMILES = [smi for _, smi in LIGANDS[:8]] + [f"C{'C' * i}O" for i in range(1, 53)]


def plan(**overrides):
    body = {
        "name": "integration funnel",
        "protein": {"sequence": CDK2_FRAGMENT},
        "ligands": [{"name": f"m{i:03d}", "smiles": smi} for i, smi in enumerate(SMILES)],
        "stages": [
            {"name": "filter", "model": "instant"},
            {"name": "dock", "model": "instant", "select": {"where": ["score >= 0.25"], "top_fraction": 0.5}},
            {"name": "rescore", "model": "instant", "select": {"top_k": 5, "by": "score", "direction": "lower"}},
        ],
    }
    return body | overrides


def instant_score(smiles: str) -> float:
    """What the instant model answers, computed here independently of the platform."""
    from rdkit import Chem

    canonical = Chem.MolToSmiles(Chem.MolFromSmiles(smiles))
    digest = hashlib.sha256(f"{CDK2_FRAGMENT}|{canonical}".encode()).digest()
    return round(int.from_bytes(digest[:4]) / 2**32, 6)


def stage_batches(campaign_id: str) -> list[str]:
    query = (
        firestore_client()
        .collection("batches")
        .where(filter=firestore.FieldFilter("campaign.campaign_id", "==", campaign_id))
    )
    return sorted(snap.id for snap in query.stream())


def test_three_stage_campaign_advances_once_per_stage_under_duplicates(settings, subscribe):
    batch_done = subscribe(settings.topic_batch_done)
    campaign_done = subscribe(settings.topic_campaign_done)
    response = requests.post(f"{settings.api_base_url}/v1/campaigns", json=plan(), timeout=60)
    assert response.status_code == 202, response.text
    accepted = response.json()
    campaign_id = accepted["campaign_id"]
    assert [s["ligands"] for s in accepted["stages"]] == [60, 30, 5]  # thresholds unknown: upper bounds

    seen: dict[str, BatchDone] = {}

    def deliver_duplicates() -> bool:
        """Every batch-done of this campaign goes out again twice through Pub/Sub and three
        times straight into the use case at once, as racing redeliveries would."""
        for message in batch_done.drain(1.0):
            event = BatchDone.model_validate_json(message.data)
            if event.campaign_id != campaign_id or event.event_id in seen:
                continue
            seen[event.event_id] = event
            pubsub.publish(settings.topic_batch_done, [event, event])
            with ThreadPoolExecutor(3) as pool:
                list(pool.map(campaigns.on_batch_done, [event] * 3))
        campaign = campaign_store.get_campaign(campaign_id)
        return campaign is not None and campaign.status.is_final

    wait_for(deliver_duplicates, timeout_s=180, interval_s=0.1)
    for event in list(seen.values()):  # replays after the end
        pubsub.publish(settings.topic_batch_done, [event])
        assert campaigns.on_batch_done(event) in {"already-final", "claimed-elsewhere"}
    reconcile_once()

    campaign = campaign_store.get_campaign(campaign_id)
    assert campaign.status.value == "completed" and campaign.reason == "all 3 stages ran"
    # each stage started once: one batch per stage, the derived ids
    expected_ids = sorted(campaigns.stage_batch_id(campaign_id, n) for n in range(3))
    assert stage_batches(campaign_id) == expected_ids
    assert len(seen) == 3

    # selection sizes exactly as the rules say, computed here from the molecules themselves
    scores = {f"m{i:03d}": instant_score(smi) for i, smi in enumerate(SMILES)}
    passing = sorted((n for n, s in scores.items() if s >= 0.25), key=lambda n: (-scores[n], n))
    second = passing[: math.ceil(len(passing) * 0.5)]
    third = sorted(second, key=lambda n: (scores[n], n))[:5]
    assert [campaign.stage_state(n).selected for n in range(3)] == [60, len(second), 5]
    jobs = {}
    for n in range(3):
        batch = campaigns.batch_store.get_batch(campaign.stage_state(n).batch_id)
        assert batch.campaign.stage == n and batch.total == [60, len(second), 5][n]
        jobs[n] = {j.ligand_name for j in _jobs(batch.batch_id)}
    assert jobs[1] == set(second) and jobs[2] == set(third)

    # one campaign-done, with its stable id and a manifest that exists
    done = [json.loads(m.data) for m in campaign_done.drain(3.0)]
    done = [d for d in done if d["campaign_id"] == campaign_id]
    assert len(done) == 1
    assert done[0]["event_id"] == f"{campaign_id}/campaign-done" and done[0]["status"] == "completed"
    assert [s["selected"] for s in done[0]["stages"]] == [60, len(second), 5]
    for uri in done[0]["results"].values():
        assert storage.exists(uri)

    # results: one row per library ligand, exit reasons naming the rule, final ranks 1..5
    body = requests.get(
        f"{settings.api_base_url}/v1/campaigns/{campaign_id}/results", params={"limit": 1000}, timeout=30
    ).json()
    rows = {r["ligand_name"]: r for r in body["rows"]}
    assert body["total"] == 60 and len(rows) == 60
    assert sorted(r["final_rank"] for r in rows.values() if r["final_rank"]) == [1, 2, 3, 4, 5]
    # ranked by the last stage's primary metric (instant: score, higher is better)
    ranked = [n for n, r in sorted(rows.items(), key=lambda kv: kv[1]["final_rank"] or 99)][:5]
    assert ranked == sorted(third, key=lambda n: (-scores[n], n))
    failing = next(n for n, s in scores.items() if s < 0.25)
    assert rows[failing]["last_stage"] == "filter"
    assert rows[failing]["exit_reason"].startswith("dock selection: score >= 0.25 (was ")
    cut = next(n for n in passing if n not in second)
    assert "outside the top 50% by score" in rows[cut]["exit_reason"]
    assert rows[ranked[0]]["exit_reason"] == "passed every stage"
    assert rows[ranked[0]]["rescore.score"] == scores[ranked[0]] == rows[ranked[0]]["filter.score"]
    page = requests.get(
        f"{settings.api_base_url}/v1/campaigns/{campaign_id}/results",
        params={"order_by": "-filter.score", "min_filter.score": 0.5, "limit": 3},
        timeout=30,
    ).json()
    high = sorted((s for s in scores.values() if s >= 0.5), reverse=True)
    assert page["total"] == len(high) and [r["filter.score"] for r in page["rows"]] == high[:3]
    low = requests.get(
        f"{settings.api_base_url}/v1/campaigns/{campaign_id}/results",
        params={"max_filter.score": 0.25, "order_by": "filter.score", "limit": 2},
        timeout=30,
    ).json()
    assert low["total"] == sum(s <= 0.25 for s in scores.values())
    assert [r["filter.score"] for r in low["rows"]] == sorted(scores.values())[:2]
    rest = requests.get(
        f"{settings.api_base_url}/v1/campaigns/{campaign_id}/results",
        params={"max_filter.score": 0.25, "order_by": "filter.score", "limit": 2, "cursor": low["next_cursor"]},
        timeout=30,
    ).json()
    assert [r["filter.score"] for r in rest["rows"]] == sorted(scores.values())[2:4]
    status = requests.get(f"{settings.api_base_url}/v1/campaigns/{campaign_id}", timeout=30).json()
    assert [s["state"] for s in status["stages"]] == ["completed"] * 3
    assert [s["succeeded"] for s in status["stages"]] == [60, len(second), 5]


def _jobs(batch_id):
    from omtx.gcp.firestore import jobs as job_store

    return list(job_store.iter_jobs(batch_id))


def test_plan_is_validated_whole_with_every_problem_named(settings):
    body = plan(
        stages=[
            {"name": "filter", "model": "rdkit_props", "params": {"bogus": 1}},
            {
                "name": "dock",
                "model": "vina",
                "params": {"center": [0, 0, 0]},
                "select": {"where": ["qed >= 0.5", "lipinski_pass == true", "pb_valid == true"]},
            },
            {
                "name": "rescore",
                "model": "instant",
                "select": {"where": ["vina_score <= -7", "fits_box >= 1"], "by": "nope"},
            },
        ]
    )
    response = requests.post(f"{settings.api_base_url}/v1/campaigns", json=body, timeout=60)
    assert response.status_code == 422
    locs = {tuple(d["loc"]): d["msg"] for d in response.json()["detail"]}
    assert ("stages", 0, "params", "bogus") in locs
    assert ("stages", 1, "protein", "structure") not in locs  # nested loc keeps its own place
    assert any(loc[:2] == ("protein", "structure") for loc in locs)  # vina needs a structure
    assert "rdkit_props has no metric 'pb_valid'" in locs[("stages", 1, "select", "where", 2)]
    assert ("stages", 1, "select", "where", 0) not in locs and ("stages", 1, "select", "where", 1) not in locs
    assert "compare it with true/false" in locs[("stages", 2, "select", "where", 1)]
    assert "vina has no metric 'nope'" in locs[("stages", 2, "select", "by")]


def test_an_empty_selection_ends_the_campaign_completed_with_the_reason(settings):
    body = plan(
        stages=[
            {"name": "filter", "model": "instant"},
            {"name": "dock", "model": "instant", "select": {"where": ["score > 1"]}},
        ]
    )
    campaign_id = requests.post(f"{settings.api_base_url}/v1/campaigns", json=body, timeout=60).json()["campaign_id"]
    campaign = wait_for(
        lambda: (c := campaign_store.get_campaign(campaign_id)) and c.status.is_final and c, timeout_s=120
    )
    assert campaign.status.value == "completed"
    assert campaign.reason == "stage dock's selection kept no ligand of stage filter"
    assert stage_batches(campaign_id) == [campaigns.stage_batch_id(campaign_id, 0)]


def test_a_failed_stage_ends_the_campaign_failed_and_failures_advance_with_what_succeeded(settings):
    body = plan(
        stages=[
            {"name": "filter", "model": "instant", "params": {"fail_every": 2}},
            {"name": "dock", "model": "instant", "params": {"fail_every": 1}, "select": {"top_k": 10}},
            {"name": "rescore", "model": "instant"},
        ]
    )
    campaign_id = requests.post(f"{settings.api_base_url}/v1/campaigns", json=body, timeout=60).json()["campaign_id"]
    campaign = wait_for(
        lambda: (c := campaign_store.get_campaign(campaign_id)) and c.status.is_final and c, timeout_s=120
    )
    assert campaign.stage_state(0).status == "completed_with_failures"
    assert campaign.stage_state(1).selected == 10  # of the 30 that succeeded
    assert campaign.status.value == "failed" and campaign.reason.startswith("stage dock failed")
    assert campaign.stage_state(2) is None


def test_cancel_stops_the_running_stage_and_starts_no_more(settings):
    body = plan(ligands=[{"name": f"m{i}", "smiles": "C" * (i % 30 + 1) + "O"} for i in range(400)])
    campaign_id = requests.post(f"{settings.api_base_url}/v1/campaigns", json=body, timeout=60).json()["campaign_id"]
    response = requests.post(f"{settings.api_base_url}/v1/campaigns/{campaign_id}/cancel", timeout=60)
    assert response.status_code == 200, response.text
    campaign = wait_for(
        lambda: (c := campaign_store.get_campaign(campaign_id)) and c.status.is_final and c, timeout_s=120
    )
    assert campaign.status.value == "cancelled"
    assert len(stage_batches(campaign_id)) == 1


def test_the_reconciler_redrives_a_stage_whose_batch_done_was_lost(settings):
    """The push subscription is turned into a pull one meanwhile, so no batch-done reaches the
    campaign: only the reconciler moves it, and a holder that died blocks it until its lease ends."""
    from google.cloud import pubsub_v1

    subscriber = pubsub_v1.SubscriberClient()
    push = subscriber.subscription_path(settings.project, "submit-batch-done")
    endpoint = subscriber.get_subscription(subscription=push).push_config.push_endpoint
    subscriber.modify_push_config(subscription=push, push_config={})
    try:
        body = plan(stages=plan()["stages"][:2])
        campaign_id = requests.post(f"{settings.api_base_url}/v1/campaigns", json=body, timeout=60).json()[
            "campaign_id"
        ]
        first = campaigns.stage_batch_id(campaign_id, 0)
        wait_for(lambda: (b := campaigns.batch_store.get_batch(first)) and b.status.is_final, timeout_s=60)
        assert campaign_store.get_campaign(campaign_id).current == 0
        # a holder that claimed the step and died: its lease blocks the reconciler until it ends
        assert campaign_store.claim_advance(campaign_id, 0, "dead-holder", 10) is not None
        reconcile_once()
        assert campaign_store.get_campaign(campaign_id).current == 0
        wait_for(
            lambda: reconcile_once() and campaign_store.get_campaign(campaign_id).status.is_final,
            timeout_s=120,
            interval_s=1,
        )
    finally:
        subscriber.modify_push_config(subscription=push, push_config={"push_endpoint": endpoint})
    campaign = campaign_store.get_campaign(campaign_id)
    assert campaign.status.value == "completed" and campaign.reason == "all 2 stages ran"
    assert stage_batches(campaign_id) == sorted(campaigns.stage_batch_id(campaign_id, n) for n in range(2))
