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
