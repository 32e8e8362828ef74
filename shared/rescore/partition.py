"""Which reviews a task owns: blocks of consecutive ids, dealt round-robin to the tasks.

Block b (ids b*B .. b*B+B-1) belongs to task b mod N, with B = BLOCK_BATCHES x the batch
size (2048 ids by default: a 200k-review catalogue makes ~100 blocks, so tasks get within a
few percent of the same share). Ownership depends on the id, the task count and the block
size only (all tasks of an execution share their settings), so every task and every retry
computes the same partition without talking to the others: each id has exactly one owner
for any N. Blocks
keep a task's reads on one stretch of the primary key (a range scan per batch, not a scan
of everybody's rows filtered by a predicate), and dealing them round-robin spreads old and
new reviews evenly over the tasks.
"""

from __future__ import annotations

from dataclasses import dataclass

BLOCK_BATCHES = 4  # a block is this many batches' worth of ids, unless set per execution
BLOCKS_PER_TASK = 8  # a small catalogue still gives every task this many blocks


def block_ids(batch_size: int, last_id: int | None = None, tasks: int = 1) -> int:
    """The block size: 4 batches, or less when a catalogue of `last_id` ids is too small to
    give each of `tasks` tasks BLOCKS_PER_TASK blocks (computed once, by whoever starts the
    execution, and passed to all its tasks: every task must use the same size)."""
    size = BLOCK_BATCHES * batch_size
    if last_id is None:
        return size
    return max(1, min(size, -(-last_id // (tasks * BLOCKS_PER_TASK))))


@dataclass(frozen=True)
class Shard:
    index: int
    count: int
    block_ids: int

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count or self.block_ids < 1:
            raise ValueError(f"shard {self.index} of {self.count} (blocks of {self.block_ids})")

    def owns(self, review_id: int) -> bool:
        return (review_id // self.block_ids) % self.count == self.index

    def next_range(self, after_id: int) -> tuple[int, int]:
        """[lo, hi): the ids after `after_id` inside the next block this shard owns."""
        first = after_id + 1
        block = first // self.block_ids
        block += (self.index - block) % self.count
        return max(first, block * self.block_ids), (block + 1) * self.block_ids
