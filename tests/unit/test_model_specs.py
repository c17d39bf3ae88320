"""Each model declares each metric once (omtx.predictors.base.Metric), and the kinds campaigns
and result views use are derived from those declarations."""

import pytest

from omtx.predictors.base import POSE_CHECK_METRICS, Metric, ModelSpec
from omtx.predictors.boltz2.outputs import CONFIDENCE_KEYS
from omtx.predictors.registry import MODELS


def test_every_model_declares_its_primary_metric_first_as_a_number():
    for spec in MODELS.values():
        assert spec.metrics[0].name == spec.primary_metric, spec.name
        assert spec.metrics[0].kind == "number", spec.name


def test_metric_kinds_come_from_the_declared_metrics_lists_left_out():
    for spec in MODELS.values():
        assert spec.metric_kinds == {m.name: m.kind for m in spec.metrics if m.kind != "list"}, spec.name


def test_every_model_with_a_predicted_complex_declares_the_pose_checks_it_emits():
    for spec in MODELS.values():
        if spec.structure is None or spec.structure.kind == "molecule":
            continue  # a lone conformer (rdkit_props) is not checked against a protein
        assert set(POSE_CHECK_METRICS) <= set(spec.metrics), spec.name
        assert spec.metric_kinds["pb_valid"] == "bool", spec.name
        assert "pb_failed" not in spec.metric_kinds  # a list of check names: read, never compared


def test_the_models_that_check_poses_are_those_with_a_complex():
    checked = {name for name, spec in MODELS.items() if "pb_valid" in spec.metric_kinds}
    assert checked == {"boltz2", "chai1", "rfantibody", "vina"}


def test_boltz2_declares_every_confidence_it_reports():
    assert set(CONFIDENCE_KEYS) <= {m.name for m in MODELS["boltz2"].metrics}


def test_a_metric_declared_twice_is_refused():
    spec = MODELS["instant"]
    with pytest.raises(ValueError, match="declares a metric twice"):
        ModelSpec(
            name="twice",
            version="1",
            description="",
            params=spec.params,
            chunk_size=1,
            hardware="cpu",
            predictor=spec.predictor,
            primary_metric="score",
            higher_is_better=True,
            metrics=(Metric("score"), Metric("score", kind="bool")),
        )
