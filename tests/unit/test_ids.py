from collections import Counter

import pytest

from omtx.ids import input_hash, job_id, shard_count, shard_of, shard_size


@pytest.mark.parametrize(("total", "shards"), [(1, 1), (20, 1), (101, 2), (999, 10), (100_000, 256), (7, 3)])
def test_shard_sizes_match_the_assignment(total, shards):
    assigned = Counter(shard_of(i, shards) for i in range(total))
    assert [shard_size(s, total, shards) for s in range(shards)] == [assigned[s] for s in range(shards)]


def test_shard_count_is_bounded():
    assert shard_count(1, 100, 256) == 1
    assert shard_count(101, 100, 256) == 2
    assert shard_count(10_000_000, 100, 256) == 256


def test_job_ids_are_deterministic_and_not_sequential():
    ids = [job_id("b1", i) for i in range(3)]
    assert ids == [job_id("b1", i) for i in range(3)]
    assert ids != sorted(ids) or len(set(ids)) == 3
    assert job_id("b1", 0) != job_id("b2", 0)


def test_input_hash_ignores_parameter_order():
    a = input_hash("m", "1", {"x": 1, "y": 2}, "SEQ", "CCO")
    assert a == input_hash("m", "1", {"y": 2, "x": 1}, "SEQ", "CCO")
    assert a != input_hash("m", "1", {"x": 1, "y": 2}, "SEQ", "CCN")
