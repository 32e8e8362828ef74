"""One rescoring batch: read a keyset range of the shard, then commit the new scores.

Reading takes no locks and scoring happens outside any transaction. The write is guarded:
it changes a row only if the row is still on another model version AND still has the
content that was scored. A review edited (and so rescored by the serving function) after
the read keeps its newer score; it counts as a conflict, and a later run catches it if that
score came from an old model. The guard is re-checked by PostgreSQL on the newest row
version after any lock wait (READ COMMITTED re-evaluation), so it holds under races too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from shared import db, failures
from shared.db import number_array, text_array
from shared.jobs.task import TaskEnv
from shared.rescore import ledger
from shared.rescore.ledger import BatchCounts, TaskRow
from shared.sentiment.scored import Scored

DEADLOCK = "40P01"
COMMIT_TRIES = 3

# every row of the range (so "seen" counts them), with its content only when it needs work
_READ = sa.text("""
SELECT id, CASE WHEN model_version <> :version THEN content END AS content
FROM reviews WHERE id >= :lo AND id < :hi ORDER BY id LIMIT :limit
""")
# row locks in id order: two executions over the same rows queue instead of deadlocking
_LOCK = sa.text(
    "SELECT id FROM reviews WHERE id = ANY(CAST(:ids AS bigint[])) ORDER BY id FOR UPDATE"
)
_UPDATE = sa.text("""
UPDATE reviews r SET label = u.label, positivity = u.positivity, confidence = u.confidence,
                     rating = u.rating, model_version = :version
FROM unnest(CAST(:ids AS bigint[]), CAST(:contents AS text[]), CAST(:labels AS text[]),
            CAST(:positivity AS float8[]), CAST(:confidence AS float8[]),
            CAST(:rating AS float8[]))
     AS u(id, content, label, positivity, confidence, rating)
WHERE r.id = u.id AND r.model_version <> :version AND r.content = u.content
""")


@dataclass(frozen=True)
class Batch:
    """A read range: how many rows it held, which need rescoring, where the walk goes on."""

    checkpoint_id: int  # every shard id up to here is covered once this batch commits
    seen: int
    ids: list[int]
    contents: list[str]


def read(lo: int, hi: int, version: str, limit: int) -> Batch:
    """Up to `limit` rows of [lo, hi); the checkpoint is the range's end when it ran out."""
    with db.transaction() as conn:
        rows = conn.execute(_READ, {"lo": lo, "hi": hi, "version": version, "limit": limit}).all()
    todo = [(int(row.id), str(row.content)) for row in rows if row.content is not None]
    checkpoint = int(rows[-1].id) if len(rows) == limit else hi - 1
    return Batch(checkpoint, len(rows), [i for i, _ in todo], [c for _, c in todo])


def commit(
    task: TaskEnv, expected_checkpoint: int, batch: Batch, scores: Sequence[Scored]
) -> TaskRow:
    """Write the batch's scores and advance the checkpoint in one transaction.

    A deadlock (say, with a movie deleted while its reviews are rescored) is retried.
    """
    for attempt in range(1, COMMIT_TRIES + 1):
        try:
            return _commit_once(task, expected_checkpoint, batch, scores)
        except sa.exc.DBAPIError as error:
            if failures.sqlstate(error) != DEADLOCK or attempt == COMMIT_TRIES:
                raise
    raise AssertionError("unreachable")


def _commit_once(
    task: TaskEnv, expected_checkpoint: int, batch: Batch, scores: Sequence[Scored]
) -> TaskRow:
    with db.transaction() as conn:
        ledger.fence(conn, task, expected_checkpoint)
        rescored = _write(conn, batch, scores) if batch.ids else 0
        counts = BatchCounts(
            checkpoint_id=batch.checkpoint_id,
            seen=batch.seen,
            rescored=rescored,
            conflicts=len(batch.ids) - rescored,
        )
        return ledger.advance(conn, task, counts)


def _write(conn: sa.Connection, batch: Batch, scores: Sequence[Scored]) -> int:
    if len(scores) != len(batch.ids):
        raise RuntimeError(f"scorer returned {len(scores)} results for {len(batch.ids)} texts")
    ids = number_array(batch.ids)
    conn.execute(_LOCK, {"ids": ids})
    params = {
        "ids": ids,
        "contents": text_array(batch.contents),
        "labels": text_array(s.label for s in scores),
        "positivity": number_array(float(s.positivity) for s in scores),
        "confidence": number_array(float(s.confidence) for s in scores),
        "rating": number_array(float(s.rating) for s in scores),
        "version": scores[0].model_version,
    }
    return int(conn.execute(_UPDATE, params).rowcount)
