"""The ledger of a fanned-out upload: one upload_shards row per byte-range shard.

A shard row is to its byte range what the object row is to a whole object: status, the
checkpoint (last physical line whose batch committed), counts, attempts, advanced in the
same transaction as each batch (ledger.record_batch with the shard's number). It also keeps
where the shard starts (first line start in its range, and that line's number), counted
once. When every shard has finished, the object row receives their sums (`settle`) and the
object is finished like any other: one rejects object, one report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from shared import db
from shared.uploads.event import UploadObject
from shared.uploads.ledger import COUNT_ATTEMPT, COUNT_COLUMNS, KEY, SHARD_KEY, Progress, key

_COLUMNS = f"shard, shard_count, start_offset, first_line, {COUNT_COLUMNS}"


class ShardMismatch(ValueError):
    """The object was planned with another shard count, or is processed in the function."""


@dataclass(frozen=True)
class Shard:
    index: int
    count: int
    start_offset: int | None  # the first line start in its byte range, once known
    first_line: int | None  # that line's physical number
    progress: Progress

    @property
    def finished(self) -> bool:
        return not self.progress.open


def _shard(row: Any) -> Shard:
    data = dict(row._mapping)
    head = {name: data.pop(name) for name in ("shard", "shard_count", "start_offset", "first_line")}
    return Shard(
        head["shard"],
        head["shard_count"],
        head["start_offset"],
        head["first_line"],
        Progress(**data),
    )


def claim(obj: UploadObject, index: int, count: int) -> Shard:
    """The shard's row, created on first sight; counts this attempt. Call under the object's
    lease (so no delivery is processing the object in the function meanwhile).

    A task started by hand (no dispatch) plans the object itself; any other shard count than
    the object's plan, or an object already processed in the function, is refused.
    """
    with db.transaction() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO upload_objects (bucket, object, generation, size, shard_count) "
                "VALUES (:bucket, :object, :generation, :size, :count) ON CONFLICT DO NOTHING"
            ),
            {**key(obj), "size": obj.size, "count": count},
        )
        planned, checkpoint = conn.execute(
            sa.text(
                "UPDATE upload_objects SET shard_count = coalesce(shard_count, :count) "  # noqa: S608
                f"WHERE {KEY} RETURNING shard_count, checkpoint_line"
            ),
            {**key(obj), "count": count},
        ).one()
        if planned != count or checkpoint > 0:
            raise ShardMismatch(
                f"{obj.uri}#{obj.generation} is planned for {planned} shards (checkpoint "
                f"{checkpoint}); this task is shard {index} of {count}"
            )
        conn.execute(
            sa.text(
                "INSERT INTO upload_shards (bucket, object, generation, shard, shard_count) "
                "VALUES (:bucket, :object, :generation, :shard, :count) ON CONFLICT DO NOTHING"
            ),
            {**key(obj, index), "count": count},
        )
        row = conn.execute(
            sa.text(
                f"UPDATE upload_shards SET {COUNT_ATTEMPT},"  # noqa: S608
                " updated_at = clock_timestamp()"
                f" WHERE {SHARD_KEY} AND status = 'processing' RETURNING {_COLUMNS}"
            ),
            key(obj, index),
        ).one_or_none()
        if row is None:
            row = conn.execute(
                sa.text(f"SELECT {_COLUMNS} FROM upload_shards WHERE {SHARD_KEY}"),  # noqa: S608
                key(obj, index),
            ).one()
    return _shard(row)


def set_start(obj: UploadObject, index: int, start_offset: int, first_line: int) -> None:
    with db.transaction() as conn:
        conn.execute(
            sa.text(
                "UPDATE upload_shards SET start_offset = :start, first_line = :line,"  # noqa: S608
                f" updated_at = clock_timestamp() WHERE {SHARD_KEY} AND start_offset IS NULL"
            ),
            {**key(obj, index), "start": start_offset, "line": first_line},
        )


def finish(obj: UploadObject, index: int, status: str, error: str | None) -> None:
    with db.transaction() as conn:
        conn.execute(
            sa.text(
                "UPDATE upload_shards SET status = :status, error = :error,"  # noqa: S608
                " finished_at = clock_timestamp(), updated_at = clock_timestamp()"
                f" WHERE {SHARD_KEY} AND status = 'processing'"
            ),
            {**key(obj, index), "status": status, "error": error},
        )


def shards(obj: UploadObject) -> list[Shard]:
    """Every shard row of the object that has been claimed, by index."""
    with db.transaction() as conn:
        rows = conn.execute(
            sa.text(f"SELECT {_COLUMNS} FROM upload_shards WHERE {KEY} ORDER BY shard"),  # noqa: S608
            key(obj),
        ).all()
    return [_shard(row) for row in rows]


def settle(obj: UploadObject) -> None:
    """Give the object row the sums of its shards (called once every shard has finished)."""
    with db.transaction() as conn:
        conn.execute(
            sa.text(f"""
            UPDATE upload_objects o SET
                lines = s.lines, inserted = s.inserted, duplicates = s.duplicates,
                rejected = s.rejected, checkpoint_line = s.checkpoint_line,
                rejects_kept = s.rejects_kept, reject_bytes = s.reject_bytes,
                model_version = coalesce(s.model_version, o.model_version),
                updated_at = clock_timestamp()
            FROM (SELECT sum(lines) AS lines, sum(inserted) AS inserted,
                         sum(duplicates) AS duplicates, sum(rejected) AS rejected,
                         sum(rejects_kept) AS rejects_kept, sum(reject_bytes) AS reject_bytes,
                         max(checkpoint_line) AS checkpoint_line,
                         max(model_version) AS model_version
                  FROM upload_shards WHERE {KEY}) s
            WHERE {KEY}
            """),  # noqa: S608
            key(obj),
        )
