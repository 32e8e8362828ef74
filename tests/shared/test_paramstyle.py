"""The remembered placeholder rewrite is pg8000's own, statement for statement, and the
statements the application runs go through it against the real database."""

from __future__ import annotations

import importlib
from typing import Any

import pg8000.dbapi
import pg8000.legacy
import pytest
import sqlalchemy as sa

from shared import db, paramstyle

STATEMENTS = [
    ("format", "SELECT %s, %s", ("a", 1)),
    ("format", "SELECT '%%s', %s WHERE x LIKE 'a%%'", ("b",)),
    ("format", "SELECT 'it''s %s' || %s -- %s in a comment\n, %s", (1, 2)),
    ("format", 'SELECT "weird %s name" FROM t WHERE y = %s', (3,)),
    ("format", "SELECT $$ %s $$, E'\\' %s', %s", (4,)),
    ("format", "SELECT CAST(%s AS bigint[])::text", ("{1}",)),
    ("named", "SELECT :a, :b, :a, x::int FROM t WHERE y = :b", {"a": 1, "b": 2}),
    ("pyformat", "SELECT %(a)s, %(b)s, %(a)s", {"a": 1, "b": 2}),
    ("pyformat", "SELECT %s, %s", (1, 2)),  # pyformat with positional markers
    ("qmark", "SELECT ?, '?', ?", (1, 2)),
    ("numeric", "SELECT :1, :2, now()::date", (1, 2)),
]


@pytest.mark.parametrize(("style", "query", "args"), STATEMENTS)
def test_the_rewrite_is_pg8000s_own(style: str, query: str, args: Any) -> None:
    expected = paramstyle._scan(style, query, args)
    assert paramstyle.convert_paramstyle(style, query, args) == expected
    assert paramstyle.convert_paramstyle(style, query, args) == expected  # remembered


def test_a_statement_pg8000_refuses_is_still_refused() -> None:
    with pytest.raises(pg8000.dbapi.InterfaceError):
        paramstyle.convert_paramstyle("format", "SELECT %d", (1,))


def test_the_applications_statements_are_rewritten_once(database: str) -> None:
    db.get_engine()  # builds the engine, which installs the remembered rewrite
    assert pg8000.legacy.convert_paramstyle is paramstyle.convert_paramstyle
    statement = sa.text("SELECT :a || '%' || :b, '%s', CAST(:n AS int) + 1")
    paramstyle.plan.cache_clear()
    for _ in range(3):
        with db.read() as conn:
            row = conn.execute(statement, {"a": "x", "b": "y", "n": 41}).one()
        assert tuple(row) == ("x%y", "%s", 42)
    info = paramstyle.plan.cache_info()
    assert (info.misses, info.hits) == (1, 2)


def test_loaded_again_after_install_it_still_scans_with_pg8000s_own() -> None:
    paramstyle.install()
    again = importlib.reload(paramstyle)
    assert again._scan is not again.convert_paramstyle
    assert again.convert_paramstyle("format", "SELECT %s", (1,)) == ("SELECT $1", (1,))
    again.install()
