import pytest
from pydantic import ValidationError

from omtx.fleet import BOLTZ2, Design, FleetFigures, ModelFigures, Scenario, chunk_sizes, simulate

NO_OVERHEAD = ModelFigures(inference_s=13.0, inference_cv=0.0, weight_load_s=0, call_overhead_s=0, msa_s=0)
NO_FLEET_OVERHEAD = FleetFigures(gpus=4, cold_start_s=0, scaledown_window_s=0)


def run(model=NO_OVERHEAD, fleet=NO_FLEET_OVERHEAD, ligands=64, seed=0, **design):
    design.setdefault("chunk_size", 8)
    return simulate(Scenario(model=model, fleet=fleet, design=Design(**design), ligands=ligands, seed=seed))


@pytest.mark.parametrize("chunk", [1, 4, 8, 16])
def test_without_overheads_the_makespan_is_the_ideal_when_the_chunks_fill_every_gpu(chunk):
    result = run(ligands=4 * chunk * 3, chunk_size=chunk)  # N divisible by G·chunk
    assert result.makespan_s == pytest.approx(result.ideal_makespan_s, rel=1e-12)
    assert result.ideal_makespan_s == pytest.approx(4 * chunk * 3 * 13.0 / 4)
    assert result.overhead == pytest.approx(0, abs=1e-12)
    assert result.meets_goal


def test_billing_and_makespan_match_a_hand_computed_fleet():
    model = ModelFigures(inference_s=1.0, inference_cv=0.0, weight_load_s=3, call_overhead_s=1, msa_s=11)
    fleet = FleetFigures(gpus=2, cold_start_s=5, scaledown_window_s=7)
    result = run(model=model, fleet=fleet, ligands=40, chunk_size=10)
    # Each container: cold start 5, two calls of 1 + 3 + 10 s, then 7 s idle before it stops.
    assert result.billed_gpu_s == pytest.approx(2 * (5 + 2 * 14 + 7))
    assert result.makespan_s == pytest.approx(11 + 5 + 2 * 14)  # the MSA on CPU delays, unbilled
    assert result.ideal_makespan_s == pytest.approx(40 * 1.0 / 2)
    assert result.overhead == pytest.approx(80 / 40 - 1)
    assert result.utilisation == pytest.approx(56 / 80)


@pytest.mark.parametrize(("ligands", "containers"), [(24, 3), (64, 4), (1000, 4)])
def test_a_container_cold_starts_once_however_many_calls_it_serves(ligands, containers):
    fleet = FleetFigures(gpus=4, cold_start_s=30, scaledown_window_s=0)
    cold = run(fleet=fleet, ligands=ligands, chunk_size=8)
    warm = run(fleet=fleet.model_copy(update={"cold_start_s": 0}), ligands=ligands, chunk_size=8)
    assert cold.containers == cold.cold_starts == containers  # no more containers than calls
    assert cold.billed_gpu_s - warm.billed_gpu_s == pytest.approx(30 * containers)
    assert len(cold.calls) == -(-ligands // 8)


def test_loading_weights_per_call_costs_more_than_once_per_container():
    model = NO_OVERHEAD.model_copy(update={"weight_load_s": 25.0})
    per_call = run(model=model, ligands=320, chunk_size=8, weights="per_call")
    per_container = run(model=model, ligands=320, chunk_size=8, weights="per_container")
    assert (per_call.weight_loads, per_container.weight_loads) == (40, 4)
    assert per_call.billed_gpu_s - per_container.billed_gpu_s == pytest.approx(25.0 * (40 - 4))
    assert per_call.overhead > per_container.overhead
    assert per_call.makespan_s > per_container.makespan_s


def test_larger_chunks_amortise_the_per_call_load():
    overheads = [run(model=BOLTZ2, fleet=FleetFigures(), ligands=2000, chunk_size=c).overhead for c in (1, 8, 32)]
    assert overheads == sorted(overheads, reverse=True)


def test_the_same_seed_gives_the_same_result_and_another_seed_does_not():
    model = BOLTZ2
    first = run(model=model, seed=7, ligands=500)
    assert run(model=model, seed=7, ligands=500) == first
    assert run(model=model, seed=8, ligands=500).inference_gpu_s != first.inference_gpu_s


def test_inference_times_average_to_the_figure():
    result = run(model=BOLTZ2, ligands=20_000, chunk_size=128)
    assert result.inference_s_per_ligand == pytest.approx(13.0, rel=0.01)


@pytest.mark.parametrize("queue", ["shared", "static"])
@pytest.mark.parametrize("chunking", ["fixed", "balanced"])
@pytest.mark.parametrize(("ligands", "chunk"), [(1, 8), (7, 8), (1001, 32), (300, 1)])
def test_every_ligand_runs_exactly_once(queue, chunking, ligands, chunk):
    result = run(model=BOLTZ2, ligands=ligands, chunk_size=chunk, queue=queue, chunking=chunking)
    ran = sorted(i for call in result.calls for i in range(call.first_ligand, call.first_ligand + call.size))
    assert ran == list(range(ligands))
    assert all(call.size >= 1 for call in result.calls)
    # A container runs one call at a time.
    for container in range(result.containers):
        spans = sorted((c.start_s, c.end_s) for c in result.calls if c.container == container)
        assert all(end <= next_start for (_, end), (next_start, _) in zip(spans, spans[1:], strict=False))


@pytest.mark.parametrize(
    ("ligands", "gpus", "chunk"), [(10_000, 20, 128), (10_000, 20, 32), (1000, 20, 128), (5, 4, 2)]
)
def test_balanced_chunks_fill_whole_waves_without_exceeding_the_chunk_size(ligands, gpus, chunk):
    sizes = chunk_sizes(ligands, gpus, Design(chunk_size=chunk, chunking="balanced"))
    assert sum(sizes) == ligands
    assert max(sizes) <= chunk and max(sizes) - min(sizes) <= 1
    assert len(sizes) % gpus == 0 or len(sizes) == ligands


def test_fixed_chunks_are_what_submit_publishes():
    assert chunk_sizes(20, 4, Design(chunk_size=8)) == [8, 8, 4]


def test_the_shared_queue_evens_out_uneven_ligands_that_a_static_assignment_cannot():
    spread = BOLTZ2.model_copy(update={"inference_cv": 1.0})
    shared = run(model=spread, ligands=400, chunk_size=1, queue="shared")
    static = run(model=spread, ligands=400, chunk_size=1, queue="static")
    assert shared.makespan_s < static.makespan_s
    assert shared.inference_gpu_s == static.inference_gpu_s  # same ligands, common random numbers


def test_an_msa_per_ligand_on_the_gpu_is_billed_per_ligand():
    model = NO_OVERHEAD.model_copy(update={"msa_s": 60.0})
    once = run(model=model, ligands=64)
    per_ligand = run(model=model, ligands=64, msa="per_ligand_on_gpu")
    assert once.billed_gpu_s == pytest.approx(once.inference_gpu_s)
    assert per_ligand.billed_gpu_s - once.billed_gpu_s == pytest.approx(60.0 * 64)


def test_boltz2_figures_miss_the_goal_per_ligand_and_meet_it_warm_with_chunks_of_32():
    fleet = FleetFigures()
    assert not run(model=BOLTZ2, fleet=fleet, ligands=10_000, chunk_size=1).meets_goal
    warm = run(model=BOLTZ2, fleet=fleet, ligands=10_000, chunk_size=32, weights="per_container", chunking="balanced")
    assert warm.meets_goal


@pytest.mark.parametrize("bad", [{"chunk_size": 0}, {"chunk_size": 8, "weights": "per_ligand"}])
def test_invalid_designs_are_refused(bad):
    with pytest.raises(ValidationError):
        Design(**bad)
