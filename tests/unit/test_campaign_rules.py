"""Selection rules, plan validation and the results table: pure, no stack."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from omtx.campaigns import table
from omtx.campaigns.plan import CampaignRequest, ModelFacts, rule_problems, stage_sizes
from omtx.campaigns.rules import Candidate, Selection, Threshold, select
from omtx.predictors.registry import MODELS


@pytest.mark.parametrize(
    ("text", "metrics", "passes"),
    [
        ("qed >= 0.5", {"qed": 0.5}, True),
        ("qed >= 0.5", {"qed": 0.49}, False),
        ("vina_score <= -7", {"vina_score": -7.2}, True),
        ("pb_valid == true", {"pb_valid": True}, True),
        ("pb_valid == true", {"pb_valid": 1}, False),  # not a boolean
        ("pb_valid != false", {}, False),  # missing never passes
        ("lipinski_pass == TRUE", {"lipinski_pass": False}, False),
        ("hbd < 5", {"hbd": True}, False),  # a boolean is no number
        ("score > 0.1", {"score": float("nan")}, False),
    ],
)
def test_thresholds(text, metrics, passes):
    assert Threshold.parse(text).passes(metrics) is passes


@pytest.mark.parametrize("text", ["qed >= ", "qed => 1", "pb_valid >= true", "x < inf", "1 > qed", "qed >= abc"])
def test_bad_thresholds_are_refused_with_the_reason(text):
    with pytest.raises((ValueError, ValidationError)):
        Selection.model_validate({"where": [text]})


def test_top_k_and_fraction_are_exclusive_and_sized_exactly():
    with pytest.raises(ValidationError, match="not both"):
        Selection(top_k=3, top_fraction=0.5)
    assert Selection(top_fraction=0.1).size_for(1000) == 100  # not 101 from 100.00000000000001
    assert Selection(top_fraction=0.1).size_for(15) == 2
    assert Selection(top_k=5).size_for(3) == 3
    assert Selection().size_for(7) == 7


def test_select_applies_thresholds_then_the_cut_and_names_the_rule():
    candidates = [Candidate(f"m{i}", {"score": i / 10, "ok": i % 2 == 0}) for i in range(10)] + [
        Candidate("nosc", {"ok": True})
    ]
    rule = Selection.model_validate({"where": ["ok == true"], "top_k": 2})
    outcome = select(candidates, rule, "score", higher_is_better=True)
    assert outcome.selected == ["m8", "m6"]
    assert outcome.reasons["m1"] == "ok == true (was false)"
    assert outcome.reasons["m4"] == "outside the top 2 by score (higher is better)"
    assert outcome.reasons["nosc"] == "no score to rank by"
    lower = select(candidates, Selection(top_k=2, direction="lower"), "score", True)
    assert lower.selected == ["m0", "m1"]
    assert set(lower.selected) | set(lower.reasons) == {c.name for c in candidates}


def test_ties_are_broken_by_name_so_a_replay_selects_the_same_ligands():
    candidates = [Candidate(n, {"s": 1.0}) for n in ("c", "a", "b")]
    assert select(candidates, Selection(top_k=2), "s", True).selected == ["a", "b"]


FACTS = {
    name: ModelFacts(spec.name, spec.primary_metric, spec.higher_is_better, dict(spec.metric_kinds))
    for name, spec in MODELS.items()
}


def request(*stages):
    return CampaignRequest.model_validate(
        {"protein": {"sequence": "MKV" * 10}, "ligands": [{"smiles": "CCO"}], "stages": list(stages)}
    )


def test_rules_are_checked_against_the_previous_stage_model():
    plan = request(
        {"name": "props", "model": "rdkit_props"},
        {"name": "dock", "model": "vina", "select": {"where": ["qed >= 0.5", "lipinski_pass == true", "tpsa == true"]}},
        {"name": "last", "model": "instant", "select": {"where": ["mmff_energy < 0"], "top_k": 3, "by": "fits_box"}},
    )
    problems = {tuple(p["loc"]): p["msg"] for p in rule_problems(plan, FACTS.get)}
    assert set(problems) == {
        ("stages", 1, "select", "where", 2),
        ("stages", 2, "select", "where", 0),
        ("stages", 2, "select", "by"),
    }
    assert "compare it with a number" in problems[("stages", 1, "select", "where", 2)]
    assert "vina has no metric 'mmff_energy'" in problems[("stages", 2, "select", "where", 0)]
    assert "not a number to rank by" in problems[("stages", 2, "select", "by")]


def test_the_first_stage_takes_no_selection_and_names_are_unique():
    assert rule_problems(request({"name": "a", "model": "instant", "select": {"top_k": 1}}), FACTS.get)
    with pytest.raises(ValidationError, match="unique"):
        request({"name": "a", "model": "instant"}, {"name": "a", "model": "instant"})


def test_stage_sizes_follow_the_cuts():
    plan = request(
        {"name": "a", "model": "instant"},
        {"name": "b", "model": "instant", "select": {"top_fraction": 0.1}},
        {"name": "c", "model": "instant", "select": {"where": ["score > 0.5"]}},
        {"name": "d", "model": "instant", "select": {"top_k": 7}},
    )
    assert stage_sizes(10_000, plan.stages) == [10_000, 1_000, 1_000, 7]


def test_every_model_declares_its_primary_metric_and_what_it_reports():
    for spec in MODELS.values():
        assert spec.metric_kinds.get(spec.primary_metric) == "number", spec.name
        assert set(spec.metric_kinds.values()) <= {"number", "bool", "text"}


def test_rdkit_props_reports_exactly_what_it_declares():
    from omtx.predictors.base import LigandTask
    from omtx.predictors.registry import load_predictor, parse_params

    spec = MODELS["rdkit_props"]
    predictor = load_predictor("rdkit_props")
    task = LigandTask(job_id="j", index=0, name="aspirin", canonical_smiles="CC(=O)Oc1ccccc1C(=O)O")
    from omtx.domain import ProteinIn

    metrics = predictor.predict(ProteinIn(sequence="MKV" * 10), task, parse_params(spec, {})).metrics  # type: ignore[union-attr]
    assert set(metrics) == set(spec.metric_kinds)
    kinds = {"number": (int, float), "bool": (bool,), "text": (str,)}
    for name, value in metrics.items():
        assert isinstance(value, kinds[spec.metric_kinds[name]]), name


def test_table_has_one_row_per_ligand_with_exit_reasons_and_ranks():
    library = [table.LibraryLigand(i, f"m{i}", "C" * (i + 1)) for i in range(4)]
    first = table.StageResult(
        "a",
        "s",
        True,
        {
            "m0": table.StageRow("succeeded", {"s": 0.9}),
            "m1": table.StageRow("succeeded", {"s": 0.1}),
            "m2": table.StageRow("failed", {}, "boom"),
            "m3": table.StageRow("succeeded", {"s": 0.8}),
        },
        exits={"m1": "b selection: s >= 0.5 (was 0.1)"},
    )
    second = table.StageResult(
        "b",
        "t",
        False,
        {"m0": table.StageRow("succeeded", {"t": -3.0}), "m3": table.StageRow("succeeded", {"t": -5.0})},
    )
    columns, rows = table.build(library, [first, second], None)
    assert columns[:6] == table.BASE_COLUMNS and "a.s" in columns and "b.t" in columns and "a.error" in columns
    by = {r["ligand_name"]: r for r in rows}
    assert [r["ligand_name"] for r in rows][:2] == ["m3", "m0"]  # lower t is better
    assert by["m3"]["final_rank"] == 1 and by["m3"]["exit_reason"] == table.PASSED and by["m3"]["a.s"] == 0.8
    assert by["m1"]["last_stage"] == "a" and by["m1"]["exit_reason"].startswith("b selection")
    assert by["m2"]["exit_reason"] == "failed in a: boom" and by["m2"]["final_rank"] is None
