"""The upload ledger: one row per object generation, its checkpoint, and its rejected lines.

Concurrency: a delivery processes an object only while it holds a session-level advisory
lock keyed by (bucket, object, generation), on a connection it keeps for the whole run,
idle and outside any transaction. PostgreSQL releases it when the delivery unlocks or its
connection dies (a crashed or killed instance), so a later delivery can always resume (an
open transaction would hold back vacuum for the whole upload: docs/uploads.md). Every
batch commit also checks that the checkpoint is still the one this delivery last saw
("fencing"), so even a lock lost with a broken connection cannot make two deliveries count
a batch twice.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from shared import db
from shared.errors import ServiceUnavailable
from shared.uploads.event import UploadObject
from shared.uploads.lines import Rejected

POLL_SECONDS = 0.2
REJECTS_PAGE = 1000
# an object's rows (upload_objects, upload_rejects) and its shards' rows (upload_shards,
# shard_ledger.py) are keyed by these conditions, with key()'s parameters
KEY = "bucket = :bucket AND object = :object AND generation = :generation"
SHARD_KEY = f"{KEY} AND shard = :shard"
# what an object row and a shard row both count
COUNT_COLUMNS = (
    "status, checkpoint_line, lines, inserted, duplicates, rejected, attempts, "
    "model_version, error, started_at, finished_at, stalled_attempts, rejects_kept, "
    "reject_bytes"
)
_COLUMNS = COUNT_COLUMNS + ", shard_count, execution"
# what claiming a row for an attempt does (object or shard); each committed batch sets
# stalled_attempts back to 0 (record_batch)
COUNT_ATTEMPT = "attempts = attempts + 1, stalled_attempts = stalled_attempts + 1"


class UploadBusy(ServiceUnavailable):
    """Another delivery holds the object for longer than we wait; retry later."""


class LostLease(ServiceUnavailable):
    """Our checkpoint moved under us: another delivery took over; stop without counting."""


@dataclass(frozen=True)
class Progress:
    status: str
    checkpoint_line: int
    lines: int
    inserted: int
    duplicates: int
    rejected: int
    attempts: int
    model_version: str | None
    error: str | None
    started_at: datetime
    finished_at: datetime | None
    stalled_attempts: int = 0  # attempts since the last committed batch (this one included)
    rejects_kept: int = 0  # rejected lines kept in upload_rejects (the rest only counted)
    reject_bytes: int = 0  # bytes of their raw text and reasons
    shard_count: int | None = None  # set when the object was fanned out to a job execution
    execution: str | None = None

    @property
    def open(self) -> bool:
        return self.status == "processing"


@dataclass(frozen=True)
class BatchCounts:
    to_line: int
    lines: int
    inserted: int
    duplicates: int
    rejected: int
    model_version: str | None


def key(obj: UploadObject, shard: int | None = None) -> dict[str, Any]:
    """The parameters of KEY (SHARD_KEY with a shard)."""
    params: dict[str, Any] = {
        "bucket": obj.bucket,
        "object": obj.name,
        "generation": obj.generation,
    }
    return params if shard is None else {**params, "shard": shard}


def _row(obj: UploadObject, shard: int | None) -> tuple[str, str, str, dict[str, Any]]:
    """(table, condition, columns, parameters) of the object's row or of one shard's row."""
    if shard is None:
        return "upload_objects", KEY, _COLUMNS, key(obj)
    return "upload_shards", SHARD_KEY, COUNT_COLUMNS, key(obj, shard)


def _progress(row: Any) -> Progress:
    return Progress(**dict(row._mapping))


@contextmanager
def lease(obj: UploadObject, wait_seconds: float, shard: int | None = None) -> Iterator[None]:
    """Hold the object's (or one shard's) lock for the body; wait, then give up (UploadBusy).

    Polling (rather than a blocking lock) returns the connection to the pool between
    attempts, so many waiting deliveries cannot starve the holder of connections.
    """
    deadline = time.monotonic() + wait_seconds
    name = f"upload:{obj.bucket}/{obj.name}#{obj.generation}"
    name += "" if shard is None else f"/shard:{shard}"
    while True:
        with db.session() as conn:
            if conn.execute(_LOCK, {"key": name}).scalar():
                try:
                    yield
                finally:
                    _unlock(conn, name)
                return
        if time.monotonic() >= deadline:
            raise UploadBusy(f"{obj.uri} is being processed by another delivery")
        time.sleep(POLL_SECONDS)


_LOCK = sa.text("SELECT pg_try_advisory_lock(hashtextextended(:key, 0))")
_UNLOCK = sa.text("SELECT pg_advisory_unlock(hashtextextended(:key, 0))")


def _unlock(conn: sa.Connection, name: str) -> None:
    """Release the lease. A connection that cannot (lost with the database) is closed rather
    than pooled with the lock, and closing it releases the lock: whatever stopped the run is
    the error the caller sees."""
    try:
        conn.execute(_UNLOCK, {"key": name})
    except Exception:
        conn.invalidate()


def claim(obj: UploadObject) -> Progress:
    """The object's ledger row, created on first sight; counts this attempt."""
    with db.transaction() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO upload_objects (bucket, object, generation, size) "
                "VALUES (:bucket, :object, :generation, :size) ON CONFLICT DO NOTHING"
            ),
            {**key(obj), "size": obj.size},
        )
        row = conn.execute(
            sa.text(
                f"UPDATE upload_objects SET {COUNT_ATTEMPT}, "  # noqa: S608
                f"updated_at = clock_timestamp() "
                f"WHERE {KEY} AND status = 'processing' RETURNING {_COLUMNS}"
            ),
            key(obj),
        ).one_or_none()
        if row is None:
            row = conn.execute(
                sa.text(f"SELECT {_COLUMNS} FROM upload_objects WHERE {KEY}"),  # noqa: S608
                key(obj),
            ).one()
    return _progress(row)


def object_id(obj: UploadObject) -> int:
    """The id of the object's ledger row: with a line number, its reviews' narrow key."""
    with db.read() as conn:
        found = conn.execute(
            sa.text(f"SELECT id FROM upload_objects WHERE {KEY}"),  # noqa: S608
            key(obj),
        ).scalar_one()
    return int(found)


def fence(
    conn: sa.Connection, obj: UploadObject, expected_line: int, shard: int | None = None
) -> None:
    """Lock the ledger row for this batch's transaction; fail unless the checkpoint is ours."""
    table, where, _, params = _row(obj, shard)
    current = conn.execute(
        sa.text(f"SELECT checkpoint_line FROM {table} WHERE {where} FOR UPDATE"),  # noqa: S608
        params,
    ).scalar()
    if current != expected_line:
        raise LostLease(f"{obj.uri}: checkpoint is {current}, expected {expected_line}")


def record_batch(
    conn: sa.Connection,
    obj: UploadObject,
    counts: BatchCounts,
    rejects: Sequence[Rejected],
    shard: int | None = None,
) -> Progress:
    """Advance the checkpoint and counts, and keep the rejects, in the batch's transaction.

    `rejects` are the rejected lines to keep (counts.rejected counts them all: see
    pipeline's reject caps). Rejects are keyed by the object and the physical line, whichever
    shard found them.
    """
    if rejects:
        conn.execute(
            sa.text(
                "INSERT INTO upload_rejects (bucket, object, generation, line, reason, raw) "
                "SELECT :bucket, :object, :generation, r.line, r.reason, r.raw "
                "FROM unnest(CAST(:lines AS bigint[]), CAST(:reasons AS text[]), "
                "CAST(:raws AS text[])) AS r(line, reason, raw) ON CONFLICT DO NOTHING"
            ),
            {
                **key(obj),
                "lines": db.number_array(r.line for r in rejects),
                "reasons": db.text_array(r.reason for r in rejects),
                "raws": db.text_array(r.raw for r in rejects),
            },
        )
    table, where, columns, params = _row(obj, shard)
    row = conn.execute(
        sa.text(f"""
        UPDATE {table} SET
            checkpoint_line = :to_line, lines = lines + :lines, inserted = inserted + :inserted,
            duplicates = duplicates + :duplicates, rejected = rejected + :rejected,
            model_version = coalesce(:model_version, model_version),
            stalled_attempts = 0, rejects_kept = rejects_kept + :kept,
            reject_bytes = reject_bytes + :kept_bytes, updated_at = clock_timestamp()
        WHERE {where} RETURNING {columns}
    """),  # noqa: S608
        {**params, **asdict(counts), "kept": len(rejects), "kept_bytes": reject_bytes(rejects)},
    ).one()
    return _progress(row)


def reject_bytes(rejects: Sequence[Rejected]) -> int:
    """What rejected lines cost the rejects object: their raw text and reasons, in UTF-8."""
    return sum(len(r.raw.encode()) + len(r.reason.encode()) for r in rejects)


def note_failure(obj: UploadObject, error: str) -> None:
    """Keep why this attempt failed on the open row: the report of a file that runs out of
    attempts says it."""
    with db.transaction() as conn:
        conn.execute(
            sa.text(
                f"UPDATE upload_objects SET error = :error, updated_at = clock_timestamp() "  # noqa: S608
                f"WHERE {KEY} AND status = 'processing'"
            ),
            {**key(obj), "error": error},
        )


def current(obj: UploadObject) -> Progress:
    with db.read() as conn:
        row = conn.execute(
            sa.text(f"SELECT {_COLUMNS} FROM upload_objects WHERE {KEY}"),  # noqa: S608
            key(obj),
        ).one()
    return _progress(row)


def finish(obj: UploadObject, status: str, error: str | None) -> Progress:
    with db.transaction() as conn:
        row = conn.execute(
            sa.text(
                f"UPDATE upload_objects SET status = :status, error = :error, "  # noqa: S608
                f"finished_at = clock_timestamp(), updated_at = clock_timestamp() "
                f"WHERE {KEY} RETURNING {_COLUMNS}"
            ),
            {**key(obj), "status": status, "error": error},
        ).one()
    return _progress(row)


def iter_rejects(obj: UploadObject) -> Iterator[dict[str, Any]]:
    """Rejected lines in line order, a page per short transaction (bounded memory)."""
    after = 0
    while True:
        with db.transaction() as conn:
            rows = (
                conn.execute(
                    sa.text(
                        f"SELECT line, reason, raw FROM upload_rejects "  # noqa: S608
                        f"WHERE {KEY} AND line > :after "
                        f"ORDER BY line LIMIT {REJECTS_PAGE}"
                    ),
                    {**key(obj), "after": after},
                )
                .mappings()
                .all()
            )
        yield from (dict(row) for row in rows)
        if len(rows) < REJECTS_PAGE:
            return
        after = rows[-1]["line"]
