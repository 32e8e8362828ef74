"""Statements go to PostgreSQL in one round trip, and a refused one leaves the connection
as usable as pg8000's own three exchanges did."""

from __future__ import annotations

from typing import Any

import pg8000.core
import pytest
import sqlalchemy as sa

from shared import db, pgwire


def test_a_statement_with_parameters_is_one_flush(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    db.get_engine()  # builds the engine, which installs the pipelined statements
    assert pg8000.core.CoreConnection.execute_unnamed is pgwire.execute_unnamed
    flushes: list[Any] = []
    flush = pg8000.core._flush

    def counted(sock: Any) -> None:
        flushes.append(sock)
        flush(sock)

    monkeypatch.setattr(pg8000.core, "_flush", counted)
    with db.read() as conn:  # a pooled connection, set up and checked out first
        flushes.clear()
        row = conn.execute(sa.text("SELECT CAST(:a AS int) + 1, :b"), {"a": 41, "b": "x"}).one()
    assert tuple(row) == (42, "x")
    assert len(flushes) == 1


def test_a_refused_statement_raises_and_the_connection_serves_on(database: str) -> None:
    engine = db.get_engine()
    with engine.connect() as conn:
        with pytest.raises(sa.exc.DatabaseError, match="division by zero"):
            conn.execute(sa.text("SELECT 1 / CAST(:zero AS int)"), {"zero": 0})
        conn.rollback()
        with pytest.raises(sa.exc.ProgrammingError):
            conn.execute(sa.text("SELEC :x"), {"x": 1})  # refused at Parse
        conn.rollback()
        with conn.begin():
            rows = conn.execute(sa.text("SELECT :n * 2 FROM generate_series(1, 3)"), {"n": 21})
            assert [r[0] for r in rows] == [42, 42, 42]
