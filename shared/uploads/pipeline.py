"""The batch pipeline: stream records, validate and score a batch, commit it with its checkpoint.

Batch n+1 is read, validated and scored while batch n commits (shared.overlap: one commit
in flight, in order, so each commit's fence sees the checkpoint the previous one left).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from shared import db, movies, tracing
from shared.errors import ServiceUnavailable
from shared.overlap import overlapped
from shared.reviews import NewReview
from shared.sentiment.scored import Scored, ScoreFn
from shared.settings import Settings
from shared.uploads import bounds, ledger, lines, reader, split
from shared.uploads.bounds import RejectCaps
from shared.uploads.event import UploadObject
from shared.uploads.ledger import BatchCounts, Progress
from shared.uploads.lines import Rejected, Valid
from shared.uploads.records import Limits, PoisonObject, RawRecord, clip

# stop taking batches after this long and ask for a redelivery, which resumes from the
# checkpoint: under the 540 s event-function limit, so an attempt ends cleanly rather than
# being cut off mid-batch (and a 1M-line file simply takes more than one attempt)
TIME_BUDGET_SECONDS = 480.0


class UploadIncomplete(ServiceUnavailable):
    """The attempt used its time budget; the redelivery continues from the checkpoint."""


def limits(settings: Settings) -> Limits:
    return Limits(
        settings.upload_max_bytes, settings.upload_max_lines, settings.upload_max_line_bytes
    )


@dataclass(frozen=True)
class Prepared:
    """A batch validated and scored, ready to commit."""

    last_line: int
    lines: int
    valid: list[Valid]
    scores: Sequence[Scored]
    rejected: list[Rejected]
    raw: dict[int, str]


def _batches(records: Iterable[RawRecord], after_line: int, size: int) -> Iterator[list[RawRecord]]:
    batch: list[RawRecord] = []
    try:
        for record in records:
            if record.line <= after_line:
                continue  # committed by an earlier attempt
            batch.append(record)
            if len(batch) >= size:
                yield batch
                batch = []
    except PoisonObject:
        # the lines read before a cap are processed like any others, then the object fails:
        # the report then counts every line up to the cap, whatever the batch boundaries
        if batch:
            yield batch
        raise
    if batch:
        yield batch


def ingest(
    obj: UploadObject,
    progress: Progress,
    settings: Settings,
    score: ScoreFn,
    *,
    records: Iterable[RawRecord] | None = None,
    shard: int | None = None,
    shards: int = 1,
    budget: float | None = None,
) -> Progress:
    """Process every line after the checkpoint; raise UploadIncomplete when out of time, and
    PoisonObject once too many lines are rejected (bounds.py).

    By default the whole object is read and counted on its own ledger row; a fan-out shard
    passes its `records` (one byte range), its `shard` number, whose row it advances, and
    the number of `shards` (its share of the reject caps).
    `budget` defaults to TIME_BUDGET_SECONDS (the event function's); a job task has none.
    """
    deadline = time.monotonic() + (TIME_BUDGET_SECONDS if budget is None else budget)
    source = reader.records(obj, limits(settings)) if records is None else records
    caps = RejectCaps.of(settings, shards)
    upload_id = ledger.object_id(obj)
    with overlapped(progress, "upload-commit") as commits:
        for batch in _batches(source, progress.checkpoint_line, settings.upload_batch_size):
            prepared = _prepare(batch, score)
            state = commits.submit(_commit, obj, prepared, caps, upload_id=upload_id, shard=shard)
            if (too_many := bounds.too_many_rejects(state, settings)) is not None:
                raise PoisonObject(too_many)
            if time.monotonic() > deadline:
                raise UploadIncomplete(
                    f"{obj.uri}: time budget used at line {commits.wait().checkpoint_line}; "
                    "the redelivery resumes there"
                )
    return commits.state


@tracing.traced("upload.batch.prepare")
def _prepare(batch: list[RawRecord], score: ScoreFn) -> Prepared:
    """Validate every line and score the valid ones (no database work: that overlaps)."""
    with tracing.span("validate", lines=len(batch)):
        parsed = [lines.parse(record) for record in batch]
    valid = [item for item in parsed if isinstance(item, Valid)]
    rejected = [item for item in parsed if isinstance(item, Rejected)]
    with tracing.span("score", texts=len(valid)):
        scores = score([item.item.content for item in valid]) if valid else []
    raw = {
        item.line: record.raw
        for item, record in zip(parsed, batch, strict=True)
        if isinstance(item, Valid)
    }
    return Prepared(batch[-1].line, len(batch), valid, scores, rejected, raw)


@tracing.traced("upload.batch.commit")
def _commit(
    progress: Progress,
    obj: UploadObject,
    batch: Prepared,
    caps: RejectCaps,
    *,
    upload_id: int,
    shard: int | None = None,
) -> Progress:
    """Insert one batch and advance the checkpoint from `progress`'s, atomically.

    Lines naming a movie that does not exist are rejected here, with the movies that do
    exist locked against deletion until the insert commits (so the foreign key holds); so
    are lines the database refuses on their data (split.py). Rejects are kept within `caps`.
    """
    with db.transaction() as conn:
        ledger.fence(conn, obj, progress.checkpoint_line, shard)
        known = movies.lock_existing(conn, {item.item.movie_id for item in batch.valid})
        rows: list[NewReview] = []
        rejected = list(batch.rejected)
        for valid, scored in zip(batch.valid, batch.scores, strict=True):
            line = valid.item
            if line.movie_id not in known:
                reason = f"movie_id: movie {line.movie_id} does not exist"
                rejected.append(Rejected(valid.line, reason, clip(batch.raw[valid.line])))
                continue
            rows.append(
                NewReview(
                    line.movie_id,
                    line.author,
                    line.content,
                    scored,
                    obj.source_key(valid.line),
                    line.external_id,
                    line.created_at,
                    upload_id=upload_id,
                    upload_line=valid.line,
                )
            )
        inserted, refused = split.insert_or_split(conn, rows)
        rejected += [Rejected(r.line, r.reason, clip(batch.raw[r.line])) for r in refused]
        counts = BatchCounts(
            to_line=batch.last_line,
            lines=batch.lines,
            inserted=inserted,
            duplicates=len(rows) - len(refused) - inserted,
            rejected=len(rejected),
            model_version=batch.scores[0].model_version if batch.scores else None,
        )
        return ledger.record_batch(conn, obj, counts, caps.keep(progress, rejected), shard)
