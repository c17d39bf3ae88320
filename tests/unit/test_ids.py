from collections import Counter

import pytest

from omtx.ids import input_hash, job_id, shard_count, shard_of, shard_size


@pytest.mark.parametrize("total", [1, 2, 7, 9, 20, 99, 100, 101, 257, 999, 10_000, 25_601, 100_000])
@pytest.mark.parametrize("per_shard", [1, 3, 100])
def test_every_shard_is_used_and_sizes_match_the_assignment(total, per_shard):
    shards = shard_count(total, per_shard, 256)
    assigned = Counter(shard_of(i, total, shards) for i in range(total))
    assert sorted(assigned) == list(range(shards))  # no empty shard, none out of range
    assert [shard_size(s, total, shards) for s in range(shards)] == [assigned[s] for s in range(shards)]


def test_shards_hold_contiguous_blocks():
    shards = shard_count(1000, 100, 256)
    assert shards == 10
    assert [shard_of(i, 1000, shards) for i in (0, 99, 100, 999)] == [0, 0, 1, 9]


def test_shard_count_is_bounded():
    assert shard_count(1, 100, 256) == 1
    assert shard_count(101, 100, 256) == 2
    assert shard_count(10_000_000, 100, 256) == 256


def test_job_ids_are_deterministic_and_distinct():
    ids = [job_id("b1", i) for i in range(100)]
    assert ids == [job_id("b1", i) for i in range(100)]
    assert len(set(ids)) == 100 and ids != sorted(ids)  # hashed, not sequential
    assert job_id("b1", 0) != job_id("b2", 0)


def test_input_hash_ignores_parameter_order():
    a = input_hash("m", "1", {"x": 1, "y": 2}, "SEQ", "CCO")
    assert a == input_hash("m", "1", {"y": 2, "x": 1}, "SEQ", "CCO")
    assert a != input_hash("m", "1", {"x": 1, "y": 2}, "SEQ", "CCN")
