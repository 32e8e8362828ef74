"""Shard ownership: every review id has exactly one owner for any task count."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.rescore.partition import BLOCK_BATCHES, BLOCKS_PER_TASK, Shard, block_ids


def walk(shard: Shard, last_id: int) -> list[int]:
    """The ids a task visits, range by range, the way the job walks (without a database)."""
    seen: list[int] = []
    after = 0
    while True:
        lo, hi = shard.next_range(after)
        if lo > last_id:
            return seen
        seen.extend(range(lo, min(hi, last_id + 1)))
        after = min(hi, last_id + 1) - 1


@given(
    ids=st.sets(st.integers(1, 50_000), max_size=300),
    count=st.integers(1, 64),
    block=st.sampled_from([1, 7, 64, 4096]),
)
def test_every_id_has_exactly_one_owner(ids: set[int], count: int, block: int) -> None:
    for review_id in ids:
        owners = [i for i in range(count) if Shard(i, count, block).owns(review_id)]
        assert len(owners) == 1


@given(count=st.integers(1, 12), block=st.integers(1, 50), last_id=st.integers(0, 2_000))
def test_the_walks_of_all_tasks_cover_every_id_once(count: int, block: int, last_id: int) -> None:
    visited = [walk(Shard(i, count, block), last_id) for i in range(count)]
    merged = sorted(review_id for ids in visited for review_id in ids)
    assert merged == list(range(1, last_id + 1))
    for i, ids in enumerate(visited):
        assert ids == sorted(ids)  # keyset order within a task
        assert all(Shard(i, count, block).owns(review_id) for review_id in ids)


@given(count=st.integers(1, 12), block=st.integers(1, 50), after=st.integers(0, 5_000))
def test_a_resumed_walk_continues_right_after_its_checkpoint(
    count: int, block: int, after: int
) -> None:
    for index in range(count):
        shard = Shard(index, count, block)
        lo, hi = shard.next_range(after)
        assert lo > after and lo < hi and shard.owns(lo) and shard.owns(hi - 1)
        assert not any(shard.owns(i) for i in range(after + 1, lo))


@pytest.mark.parametrize(("index", "count"), [(-1, 2), (2, 2), (0, 0)])
def test_invalid_shards_are_refused(index: int, count: int) -> None:
    with pytest.raises(ValueError):
        Shard(index, count, 64)


def test_blocks_are_four_batches_unless_the_catalogue_is_small() -> None:
    assert block_ids(512) == BLOCK_BATCHES * 512
    assert block_ids(512, last_id=200_000, tasks=2) == 2048
    assert block_ids(512, last_id=300, tasks=2) == 19  # 16 blocks: both tasks get work
    assert block_ids(512, last_id=0, tasks=4) == 1


@given(last_id=st.integers(1, 100_000), tasks=st.integers(1, 16))
def test_a_small_catalogue_still_gives_every_task_blocks(last_id: int, tasks: int) -> None:
    size = block_ids(512, last_id, tasks)
    blocks = -(-last_id // size)
    assert blocks >= min(tasks * BLOCKS_PER_TASK, last_id, -(-last_id // 2048))
