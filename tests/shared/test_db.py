"""The db layer's array literals: every value reaches PostgreSQL byte for byte."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from shared import db

TEXTS = [
    "null",
    "NULL",
    " Null ",
    "",
    "a,b",
    '"quoted"',
    "back\\slash",
    "trailing\\",
    "{braces}",
    "한국어 리뷰",
    "tab\there",
    "new\nline",
    None,
]


def test_text_arrays_round_trip(database: str) -> None:
    with db.transaction() as conn:
        got = conn.execute(
            sa.text("SELECT unnest(CAST(:a AS text[]))"), {"a": db.text_array(TEXTS)}
        ).scalars()
        assert list(got) == TEXTS


def test_number_arrays_round_trip_and_refuse_booleans(database: str) -> None:
    numbers = [1, 2**63 - 1, 0, -5]
    with db.transaction() as conn:
        got = conn.execute(
            sa.text("SELECT unnest(CAST(:a AS bigint[]))"), {"a": db.number_array(numbers)}
        ).scalars()
        assert list(got) == numbers
        floats = [0.1, 1e-300, 9.999999999999998]
        got = conn.execute(
            sa.text("SELECT unnest(CAST(:a AS float8[]))"), {"a": db.number_array(floats)}
        ).scalars()
        assert list(got) == floats
    with pytest.raises(TypeError):
        db.number_array([True])
    with pytest.raises(TypeError):
        db.number_array(["1"])  # type: ignore[list-item]


def test_a_unit_of_work_commits_every_joined_transaction_or_none(database: str) -> None:
    insert = sa.text("INSERT INTO movies (title) VALUES (:t)")
    with pytest.raises(RuntimeError), db.unit_of_work():
        with db.transaction() as conn:
            conn.execute(insert, {"t": "first"})
        with db.transaction() as conn:
            conn.execute(insert, {"t": "second"})
        raise RuntimeError("the unit fails after both wrote")
    with db.transaction() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM movies")).scalar_one() == 0
    with db.unit_of_work(), db.transaction() as conn:
        conn.execute(insert, {"t": "kept"})
    with db.transaction() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM movies")).scalar_one() == 1


def test_a_long_statement_ends_with_the_statement_timeout_on_a_live_connection(
    database: str,
) -> None:
    from shared.settings import Settings

    settings = Settings(database_url=database, db_statement_timeout_ms=300, db_pool_size=1)
    assert db.socket_timeout_s(settings) > settings.db_statement_timeout_ms / 1000
    assert db.socket_timeout_s(Settings(database_url=database)) > 15  # the default 15 s
    engine = db.build_engine(settings)
    try:
        with pytest.raises(sa.exc.DBAPIError) as cancelled, engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_sleep(2)"))
        assert "57014" in str(cancelled.value)  # query_canceled, not a socket error
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()
