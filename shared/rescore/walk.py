"""One task's walk over its shard: read and score batch n+1 while batch n commits.

Batches are read, scored and committed in id order (shared.overlap: one commit in flight,
so each commit's fence sees the checkpoint the previous one left).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence

import sqlalchemy as sa

from shared import db
from shared.jobs.task import TaskEnv
from shared.overlap import overlapped
from shared.rescore import batches
from shared.rescore.batches import Batch
from shared.rescore.ledger import TaskRow
from shared.rescore.partition import Shard
from shared.sentiment.scored import Scored, ScoreFn

log = logging.getLogger("shared.rescore")
PROGRESS_EVERY_SECONDS = 15.0


def last_review_id() -> int:
    """Where the walk ends: rows added later are written by functions already on the new model.

    (A review written by an old-model instance still draining after that can be caught by
    running the job again, which costs a read of the table and rescores only such rows.)
    """
    with db.transaction() as conn:
        return int(conn.execute(sa.text("SELECT coalesce(max(id), 0) FROM reviews")).scalar_one())


def ranges(
    shard: Shard, after_id: int, last_id: int, batch_size: int, version: str
) -> Iterator[Batch]:
    """The shard's batches after `after_id`, up to `last_id`, in id order."""
    while True:
        lo, hi = shard.next_range(after_id)
        if lo > last_id:
            return
        batch = batches.read(lo, min(hi, last_id + 1), version, batch_size)
        yield batch
        after_id = batch.checkpoint_id


def walk(task: TaskEnv, row: TaskRow, shard: Shard, batch_size: int, score: ScoreFn) -> TaskRow:
    """Rescore the shard from the row's checkpoint to the end; returns the final row."""
    last_id = last_review_id()
    log.info(
        "rescore task walking its shard",
        extra={**task.labels, "from_id": row.checkpoint_id, "to_id": last_id},
    )
    next_log = time.monotonic() + PROGRESS_EVERY_SECONDS
    with overlapped(row, "rescore-commit") as commits:
        for batch in ranges(shard, row.checkpoint_id, last_id, batch_size, row.model_version):
            scores = score(batch.contents) if batch.ids else []
            committed = commits.submit(_commit, task, batch, scores)
            if time.monotonic() >= next_log:
                next_log = time.monotonic() + PROGRESS_EVERY_SECONDS
                log.info("rescore progress", extra={**task.labels, **progress(committed, last_id)})
    return commits.state


def _commit(row: TaskRow, task: TaskEnv, batch: Batch, scores: Sequence[Scored]) -> TaskRow:
    return batches.commit(task, row.checkpoint_id, batch, scores)


def progress(row: TaskRow, last_id: int) -> dict[str, int]:
    return {
        "checkpoint_id": row.checkpoint_id,
        "last_id": last_id,
        "seen": row.seen,
        "rescored": row.rescored,
        "skipped": row.skipped,
        "conflicts": row.conflicts,
    }
