"""`omtx results` ordering: the model's primary metric in its direction by default, and a metric
the model does not write refused with the ones it does (not an empty table); `--where` filters."""

import pytest

from omtx.cli.ranking import BadFilter, UnknownMetric, filters, order_for

MODELS = {
    "models": [
        {"name": "vina", "primary_metric": "vina_score", "higher_is_better": False},
        {"name": "rdkit_props", "primary_metric": "qed", "higher_is_better": True},
    ]
}


class Client:
    """The API as `omtx results` sees it: the models, and one succeeded job's metrics."""

    def __init__(self, metrics):
        self.metrics = metrics
        self.asked = []

    def models(self):
        return MODELS

    def results(self, batch_id, limit, status=None, order_by=None):
        self.asked.append((limit, status))
        return {"jobs": [{"metrics": self.metrics}] if self.metrics else []}


VINA = {"batch_id": "b0", "model": "vina"}


@pytest.mark.parametrize(("model", "order"), [("vina", "vina_score"), ("rdkit_props", "-qed"), ("gone", None)])
def test_the_default_order_is_the_primary_metric_best_first(model, order):
    assert order_for(Client({}), {"batch_id": "b0", "model": model}, None)[0] == order


def test_a_metric_the_model_does_not_write_names_the_ones_it_does():
    client = Client({"vina_score": -7.1, "n_poses": 3, "fits_box": True})
    with pytest.raises(UnknownMetric) as caught:
        order_for(client, VINA, "-qed")
    assert str(caught.value) == (
        "batch b0 ran vina, which has no metric 'qed'. Its metrics: vina_score (primary, lower is better), "
        "n_poses, fits_box; or a job field: duration_s, ligand_name, index, inchikey, canonical_smiles"
    )
    assert order_for(client, VINA, "-n_poses") == ("-n_poses", "vina_score")


def test_the_primary_metric_and_job_fields_need_no_sample_and_nothing_succeeded_yet_is_not_an_error():
    client = Client({})
    assert order_for(client, VINA, "-vina_score") == ("-vina_score", "vina_score")
    assert order_for(client, VINA, "duration_s")[0] == "duration_s" and client.asked == []
    assert order_for(client, VINA, "qed")[0] == "qed"  # no job has succeeded: the table says so


def test_where_options_become_the_views_query_parameters():
    assert filters(["pb_valid=true", " min_vina_score = -9 "]) == {"pb_valid": "true", "min_vina_score": "-9"}
    assert filters([]) == {}


@pytest.mark.parametrize(
    ("where", "message"),
    [
        (["pb_valid"], "write NAME=VALUE"),
        (["=true"], "write NAME=VALUE"),
        (["pb_valid="], "write NAME=VALUE"),
        (["pb_valid=true", "pb_valid=false"], "pb_valid is given twice"),
        (["order_by=-qed"], "use --sort"),
        (["limit=5"], "use --top"),
    ],
)
def test_a_where_that_is_not_name_value_is_refused_with_its_text(where, message):
    with pytest.raises(BadFilter, match=message) as caught:
        filters(where)
    assert repr(where[-1]) in str(caught.value)
