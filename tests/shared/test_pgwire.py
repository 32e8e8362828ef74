"""Statements go to PostgreSQL in one round trip, and a refused one leaves the connection
as usable as pg8000's own three exchanges did."""

from __future__ import annotations

from typing import Any

import pg8000.core
import pytest
import sqlalchemy as sa

from shared import db, pgwire


@pytest.fixture
def flushes(database: str, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every flush of a pg8000 connection's socket (a write to PostgreSQL) from here on."""
    db.get_engine()  # builds the engine, which installs the pipelined statements
    assert pg8000.core.CoreConnection.execute_unnamed is pgwire.execute_unnamed
    assert pg8000.core.CoreConnection.execute_simple is pgwire.execute_simple
    flushed: list[Any] = []
    flush = pg8000.core._flush

    def counted(sock: Any) -> None:
        flushed.append(sock)
        flush(sock)

    monkeypatch.setattr(pg8000.core, "_flush", counted)
    return flushed


def test_a_statement_with_parameters_is_one_flush(flushes: list[Any]) -> None:
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


def test_a_transactions_begin_goes_with_its_first_statement(flushes: list[Any]) -> None:
    engine = db.get_engine()
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")  # set up and checked out first
        conn.commit()
        flushes.clear()
        with conn.begin():
            first = conn.execute(sa.text("SELECT txid_current() + :n"), {"n": 0}).scalar_one()
            again = conn.exec_driver_sql("SELECT txid_current()").scalar_one()  # no parameters
        assert first == again  # one transaction around both
        assert len(flushes) == 3  # BEGIN with the first statement, the second, COMMIT
        flushes.clear()
        with conn.begin():
            conn.exec_driver_sql("SELECT 1")
        assert len(flushes) == 2  # BEGIN with a statement without parameters too, COMMIT


def test_a_refused_first_statement_rolls_its_transaction_back(database: str) -> None:
    engine = db.get_engine()
    with engine.connect() as conn:
        with pytest.raises(sa.exc.ProgrammingError), conn.begin():
            conn.execute(sa.text("SELEC :x"), {"x": 1})
        with pytest.raises(sa.exc.DatabaseError, match="division by zero"), conn.begin():
            conn.exec_driver_sql("SELECT 1 / 0")
        with conn.begin():
            mine = conn.execute(sa.text("SELECT pg_current_xact_id_if_assigned()")).scalar()
        assert mine is None  # a transaction of its own, nothing left open by the failures
        raw: Any = conn.connection.dbapi_connection
        assert not raw._in_transaction


def test_a_begin_left_waiting_is_dropped_by_autocommit(database: str) -> None:
    engine = db.get_engine()
    with engine.connect() as conn:
        raw: Any = conn.connection.dbapi_connection
        raw.execute_simple(pgwire.BEGIN)  # as if its statement had failed before being sent
        raw.autocommit = True
        try:
            conn.exec_driver_sql("SELECT 1")
            assert not raw._in_transaction  # pg8000 would not have begun in autocommit
        finally:
            raw.autocommit = False
