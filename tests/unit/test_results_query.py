"""Reading a results view from a query string: every name is known or named in a 400, cursors are
bound to their batch and query, and a replay of the same page gives the same rows."""

from __future__ import annotations

import pytest

from omtx.errors import QueryError
from omtx.gcp.firestore.common import InvalidCursor
from omtx.results import cursor
from omtx.results.catalog import Catalog, declared
from omtx.results.cursor import Keyset
from omtx.results.query import ResultsQuery, parse, referenced

CATALOG = Catalog.of({"qed": "number", "mw": "number", "lipinski_pass": "boolean", "formula": "text", "raw": "json"})


def q(**args: str) -> ResultsQuery:
    return parse({k: [v] for k, v in args.items()}, CATALOG, batch_id="b1")


def test_a_full_view_is_read() -> None:
    view = q(order_by="-qed", min_qed="0.5", max_mw="500", lipinski_pass="TRUE", status="succeeded", q=" aspirin ")
    assert (view.order, view.descending, view.status, view.search) == ("qed", True, "succeeded", "aspirin")
    assert view.ranges == (("mw", "<=", 500.0), ("qed", ">=", 0.5))
    assert view.flags == (("lipinski_pass", True),) and view.limit == 100
    assert q(fields="ligand_name, qed").fields == {"ligand_name", "qed", "job_id", "index"}
    assert q(order_by="ligand_name").order == "ligand_name"


@pytest.mark.parametrize(
    ("args", "param", "says"),
    [
        ({"order_by": "qd"}, "order_by", "qed (number)"),
        ({"order_by": "raw"}, "order_by", "raw is json"),
        ({"order_by": "qed;drop"}, "order_by", "its metrics"),
        ({"min_qd": "1"}, "min_qd", "lipinski_pass (boolean)"),
        ({"max_formula": "1"}, "max_formula", "only numbers"),
        ({"min_qed": "nan"}, "min_qed", "finite"),
        ({"minqed": "0.5"}, "minqed", "min_<metric>"),
        ({"qed": "0.5"}, "qed", "min_/max_"),
        ({"lipinski_pass": "1"}, "lipinski_pass", "true or false"),
        ({"status": "done"}, "status", "succeeded"),
        ({"fields": "nope"}, "fields", "row fields"),
        ({"limit": "0"}, "limit", "1–1000"),
        ({"q": " "}, "q", "characters"),
    ],
)
def test_every_bad_name_or_value_is_a_400_naming_it(args: dict[str, str], param: str, says: str) -> None:
    with pytest.raises(QueryError) as caught:
        q(**args)
    detail = caught.value.details[0]
    assert detail["loc"] == ["query", param] and says in detail["msg"]


def test_a_repeated_parameter_is_refused() -> None:
    with pytest.raises(QueryError, match="2 times"):
        parse({"order_by": ["qed", "mw"]}, CATALOG, batch_id="b1")


def test_exports_take_no_page() -> None:
    with pytest.raises(QueryError, match="unknown query parameter 'limit'"):
        parse({"limit": ["5"]}, CATALOG, batch_id="b1", paged=False)


def test_a_cursor_is_bound_to_its_batch_and_query() -> None:
    view = q(order_by="-qed")
    token = cursor.encode("b1", view.fingerprint(), Keyset(0.5, 7))
    assert q(order_by="-qed", cursor=token, limit="5").after == Keyset(0.5, 7)  # page size may change
    with pytest.raises(InvalidCursor, match="another query"):
        q(order_by="qed", cursor=token)
    with pytest.raises(InvalidCursor, match="another batch"):
        parse({"order_by": ["-qed"], "cursor": [token]}, CATALOG, batch_id="b2")
    for bad in (token[:-1] + ("0" if token[-1] != "0" else "1"), "x" + token, "jnope", "a/b", ""):
        with pytest.raises(InvalidCursor):
            q(order_by="-qed", cursor=bad)


def test_referenced_names_are_the_columns_a_query_mentions() -> None:
    args = {"order_by": ["-qed"], "min_mw": ["1"], "pb_valid": ["true"], "fields": ["ligand_name,vina"], "limit": ["5"]}
    assert referenced(args) == {"qed", "mw", "pb_valid", "vina"}


@pytest.mark.parametrize("model", ["vina", "boltz2", "chai1"])
def test_pb_valid_is_a_boolean_a_view_can_filter_on_before_any_job_has_it(model: str) -> None:
    """A running batch's catalog starts from what its model declares (omtx.results.live): a table
    of docking or co-folding results can be filtered on the pose check from its first page on."""
    catalog = Catalog.of(declared(model))
    assert catalog.kind("pb_valid") == "boolean"
    for raw, value in (("true", True), ("False", False)):
        view = parse(
            {"pb_valid": [raw], "order_by": ["vina_score" if model == "vina" else "-pb_valid"]}, catalog, batch_id="b1"
        )
        assert view.flags == (("pb_valid", value),)
    for bad in ("1", "yes", "", "true,false"):
        with pytest.raises(QueryError) as caught:
            parse({"pb_valid": [bad]}, catalog, batch_id="b1")
        assert caught.value.details[0]["loc"] == ["query", "pb_valid"]
        assert "true or false" in caught.value.details[0]["msg"]
    with pytest.raises(QueryError, match="pb_valid") as caught:
        parse({"min_pb_valid": ["1"]}, catalog, batch_id="b1")  # a flag has no range
    assert caught.value.details[0]["loc"] == ["query", "min_pb_valid"]
