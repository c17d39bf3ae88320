import pytest

from omtx.domain import BatchRequest, Limits
from omtx.errors import InputError
from omtx.predictors.base import CostModel
from omtx.predictors.registry import get_model
from omtx.usecases.submit import estimate, fingerprint, validate

SEQ = "MENFQKVEKIGEGTYGVVYKARNKLTG"


def request(ligands, **kw):
    return BatchRequest.model_validate({"protein": {"sequence": SEQ}, "ligands": ligands} | kw)


def test_reject_refuses_the_batch_listing_every_bad_row():
    with pytest.raises(InputError) as info:
        validate(request([{"smiles": "CCO"}, {"smiles": "C1C"}, {"smiles": "XX"}]))
    assert [d["loc"][1] for d in info.value.details] == [1, 2]


def test_skip_runs_the_valid_rows_and_lists_the_rest():
    checked = validate(request([{"smiles": "CCO"}, {"smiles": "C1C"}, {"smiles": "CCN"}], on_invalid="skip"))
    assert [lig.row for lig in checked.ligands] == [0, 2]
    assert [lig.index for lig in checked.ligands] == [0, 1]  # job indexes stay dense
    assert checked.rejected[0]["loc"] == ["ligands", 1, "smiles"]


def test_skip_with_nothing_valid_is_still_refused():
    with pytest.raises(InputError, match="no valid ligand"):
        validate(request([{"smiles": "C1C"}], on_invalid="skip"))


def test_duplicate_molecules_are_reported():
    checked = validate(request([{"smiles": "OCC"}, {"smiles": "CCO"}]))
    assert checked.ligands[1].warnings == ["same molecule as row 0"]


def test_heavy_atom_limits_error_and_warn(monkeypatch):
    from omtx.chemistry.ligands import validate_ligands
    from omtx.domain import LigandIn

    limits = Limits(max_heavy_atoms=10, warn_heavy_atoms=5)
    valid, errors = validate_ligands(
        [LigandIn(smiles="CCO"), LigandIn(smiles="CCCCCCC"), LigandIn(smiles="C" * 11)], limits
    )
    assert [v.row for v in valid] == [0, 1]
    assert "outside the model's training range" in valid[1].warnings[0]
    assert errors[0]["loc"] == ["ligands", 2, "smiles"] and "at most 10" in errors[0]["msg"]


def test_protein_length_is_per_model():
    with pytest.raises(InputError) as info:
        validate(BatchRequest.model_validate({"protein": {"sequence": "ACD"}, "ligands": [{"smiles": "C"}]}))
    assert info.value.details[0]["loc"] == ["protein", "sequence"] and "rdkit_props" in info.value.details[0]["msg"]


def test_estimate_from_configured_figures():
    spec = get_model("rdkit_props")
    e = estimate(spec, 100)
    chunks = -(-100 // spec.chunk_size)
    assert e.worker_calls == chunks
    cost: CostModel = spec.cost
    assert e.compute_seconds == pytest.approx(100 * cost.seconds_per_ligand + chunks * cost.startup_s)
    assert e.cost_usd == pytest.approx(e.compute_seconds * cost.usd_per_second, abs=1e-4)


def test_fingerprint_is_the_request_not_its_spelling():
    a = request([{"smiles": "CCO"}], params={"seed": 1, "optimize": True})
    b = request([{"smiles": "CCO"}], params={"optimize": True, "seed": 1})
    assert fingerprint(a) == fingerprint(b)
    assert fingerprint(a) != fingerprint(request([{"smiles": "CCN"}], params={"seed": 1, "optimize": True}))


def test_fanout_ranges_are_whole_chunks_and_the_first_is_small(monkeypatch):
    from omtx.settings import get_settings
    from omtx.usecases.fanout import range_bounds

    monkeypatch.setenv("OMTX_FANOUT_RANGE", "1000")
    get_settings.cache_clear()
    bounds = range_bounds(100_000, 50)
    assert bounds[:3] == [(0, 100), (100, 1100), (1100, 2100)] and bounds[-1] == (99_100, 100_000)
    assert all(start % 50 == 0 for start, _ in bounds)
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:], strict=False))  # contiguous
    assert range_bounds(30, 50) == [(0, 30)]
    get_settings.cache_clear()


def test_a_small_batch_is_written_two_chunks_first_then_a_commit_at_a_time():
    from omtx.usecases.fanout import write_groups

    # 1,000 ligands in chunks of 50: chunks 0-1 first (their workers start), then 10 per commit
    assert write_groups(20, 10) == [range(2), range(2, 12), range(12, 20)]
    for chunks, per_write in [(1, 10), (2, 1), (3, 1), (7, 3), (125, 62)]:
        groups = write_groups(chunks, per_write)
        assert [c for g in groups for c in g] == list(range(chunks))  # every chunk once, in order
        assert len(groups[0]) == min(2, chunks) and all(0 < len(g) <= max(2, per_write) for g in groups)
