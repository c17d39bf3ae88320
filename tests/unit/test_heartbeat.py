"""Heartbeats renew call leases in one commit per beat, carry what the worker reported, lose
nothing when a renewal fails, and tell the holder that its batch was cancelled; the worker stops
at its next ligand when told."""

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from omtx.gcp.firestore.leases import CallKey, Renewal
from omtx.heartbeat import Heartbeat, until_cancelled
from omtx.settings import Settings, get_settings
from omtx.worker import LigandOutcome

A, B = CallKey("b1", "call-a"), CallKey("b2", "call-b")


@pytest.fixture
def renewals(monkeypatch):
    """Every renewal sent, one list per commit; `cancelled` names the batches cancelled."""
    monkeypatch.setenv("OMTX_HEARTBEAT_S", "1000")  # the thread never beats on its own here
    monkeypatch.setenv("OMTX_LEASE_S", "3000")
    get_settings.cache_clear()
    sent: list[list[Renewal]] = []
    state = {"cancelled": set(), "fail": False}

    def renew(batch: list[Renewal], lease_s: float) -> set[CallKey]:
        if state["fail"]:
            raise ConnectionError("Firestore unreachable")
        sent.append([r.model_copy(deep=True) for r in batch])
        assert lease_s == 3000
        return {r.key for r in batch if r.key.batch_id in state["cancelled"]}

    monkeypatch.setattr("omtx.heartbeat.renew", renew)
    return sent, state


def test_every_held_call_is_renewed_in_one_commit_with_its_reports(renewals):
    sent, _ = renewals
    beat = Heartbeat()
    beat.hold(A, started=True)
    beat.hold(B)
    beat.report(A, ["j1", "j2"])
    beat.beat()
    beat.report(A, ["j3"])
    beat.beat()
    beat.release(A, finished=True)
    beat.beat()
    beat.close()
    first, second, last_of_a, only_b = sent
    assert [(r.key, r.started, r.reported, r.first_report) for r in first] == [
        (A, True, ["j1", "j2"], True),
        (B, False, [], False),
    ]
    # reports are said once, and only the first time a call reports is marked as such
    assert [(r.key, r.started, r.reported, r.first_report) for r in second] == [
        (A, False, ["j3"], False),
        (B, False, [], False),
    ]
    assert [(r.key, r.finished) for r in last_of_a] == [(A, True)]
    assert [r.key for r in only_b] == [B]  # released: no longer renewed


def test_a_failed_renewal_keeps_what_it_had_to_say(renewals):
    sent, state = renewals
    beat = Heartbeat()
    beat.hold(A, started=True)
    beat.report(A, ["j1"])
    state["fail"] = True
    beat.beat()  # logged, not raised: the worker goes on
    state["fail"] = False
    beat.report(A, ["j2"])
    beat.beat()
    beat.close()
    [[renewal]] = sent
    assert (renewal.started, renewal.reported, renewal.first_report) == (True, ["j1", "j2"], True)


def test_the_holder_is_told_once_that_its_batch_was_cancelled(renewals):
    _, state = renewals
    told: list[CallKey] = []
    beat = Heartbeat(on_cancelled=told.append)
    beat.hold(A)
    beat.hold(B)
    beat.beat()
    assert not beat.cancelled(A)
    state["cancelled"].add("b1")
    beat.beat()
    beat.beat()
    beat.close()
    assert told == [A] and beat.cancelled(A) and not beat.cancelled(B)


def outcome(job_id: str) -> LigandOutcome:
    from omtx.predictors.base import LigandTask

    task = LigandTask(job_id=job_id, index=0, name=job_id, canonical_smiles="CCO")
    return LigandOutcome(task=task, prediction=None, error="x", trace="", started_at=datetime.now(UTC), duration_s=0.0)


def test_a_cancelled_call_stops_at_its_next_ligand_and_stores_nothing_more():
    ran: list[str] = []
    cancelled = {"now": False}

    def ligands():
        for job_id in ("j1", "j2", "j3", "j4"):
            ran.append(job_id)
            if job_id == "j2":
                cancelled["now"] = True  # told while j2 ran
            yield outcome(job_id)

    source = ligands()
    stored = [o.task.job_id for o in until_cancelled(source, lambda: cancelled["now"], "b1")]
    assert stored == ["j1"]  # j2 finished after the cancel: not stored
    assert ran == ["j1", "j2"]  # j3 never started
    assert source.gi_frame is None  # the model's generator was closed (a chunk tool stops)


def test_a_heartbeat_fits_twice_in_a_lease():
    with pytest.raises(ValidationError, match="at most half of lease_s"):
        Settings(lease_s=10, heartbeat_s=6)
    assert Settings().lease_s == 30 and Settings().heartbeat_s == 10
