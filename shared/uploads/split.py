"""Insert a batch's rows; when the database refuses them on their data, find which ones.

Validation (the API's schemas) accepts what the database stores, so this is the guard for
whatever slips through it (a constraint added later, a rule we do not know yet): one bad row
must never fail its batch, and with it the file. The rows go in under a savepoint; on a data
error (failures.Failure.DATA: SQLSTATE class 22 or 23) the savepoint is rolled back and each
half is tried again the same way, down to single rows, which are refused with the
database's reason. Everything stays in the caller's transaction, so the batch still commits
with its checkpoint and rejects at once (exactly once); k bad rows among n cost about
2·k·log2(n) statements, none when all are good. Any other error is not the rows' fault and
propagates (the caller retries the batch within its budget).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from shared import failures, reviews
from shared.reviews import NewReview


@dataclass(frozen=True)
class Refused:
    line: int
    reason: str


def insert_or_split(conn: sa.Connection, rows: Sequence[NewReview]) -> tuple[int, list[Refused]]:
    """(rows inserted, rows refused with the database's reason): uploaded rows, each with its
    line (`upload_line`)."""
    if not rows:
        return 0, []
    try:
        with conn.begin_nested():
            return reviews.insert_many(conn, rows), []
    except sa.exc.DBAPIError as error:
        if failures.classify(error) is not failures.Failure.DATA:
            raise
        if len(rows) == 1:
            return 0, [Refused(rows[0].upload_line or 0, refused_because(error))]
    half = len(rows) // 2
    first, refused_first = insert_or_split(conn, rows[:half])
    second, refused_second = insert_or_split(conn, rows[half:])
    return first + second, refused_first + refused_second


def refused_because(error: sa.exc.DBAPIError) -> str:
    return f"refused by the database: {failures.server_message(error)} ({failures.sqlstate(error)})"
