"""The db layer: array literals reach PostgreSQL byte for byte; units of work; the statement
timeout; and no failure, of any kind, leaves a connection in the pool that is not clean."""

from __future__ import annotations

import contextlib
import threading
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from shared import db
from tests.conftest import use_database

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


# --- every failure leaves the pool clean (issue 23) -----------------------------------------

POOL = {"DB_POOL_SIZE": "2", "DB_MAX_OVERFLOW": "0", "DB_STATEMENT_TIMEOUT_MS": "300"}


def _fail(sql: str, params: dict[str, object] | None = None) -> None:
    with db.transaction() as conn:
        conn.execute(sa.text(sql), params or {})


def _python_error_between_statements() -> None:
    with db.transaction() as conn:
        conn.execute(sa.text("INSERT INTO movies (title) VALUES ('rolled back')"))
        raise LookupError("our own code fails mid-transaction")


def _error_inside_a_unit_of_work() -> None:
    with db.unit_of_work() as unit:
        unit.execute(sa.text("INSERT INTO movies (title) VALUES ('rolled back')"))
        with db.transaction() as conn:  # joins the unit
            conn.execute(sa.text("SELECT CAST('x' AS integer)"))


def _aborted_transaction_used_again() -> None:
    with db.transaction() as conn:
        with contextlib.suppress(sa.exc.DBAPIError):
            conn.execute(sa.text("SELECT 1/0"))
        conn.execute(sa.text("SELECT 1"))  # 25P02: the transaction is aborted


def _terminate(pid: int) -> None:
    """End backend `pid` from a connection of its own, as an outage or an admin would."""
    killer = sa.create_engine(db.get_engine().url, poolclass=sa.pool.NullPool)
    with killer.begin() as other:
        other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    killer.dispose()


def _connection_killed_mid_transaction() -> None:
    with db.transaction() as conn:
        _terminate(conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())
        conn.execute(sa.text("SELECT 1"))


FAILURES = {
    "data error": lambda: _fail("SELECT 1/0"),
    "constraint": lambda: _fail("INSERT INTO reviews (movie_id) VALUES (-1)"),
    "statement timeout": lambda: _fail("SELECT pg_sleep(2)"),
    "driver cannot encode a lone surrogate": lambda: _fail(
        "SELECT CAST(:t AS text)", {"t": "bad \ud800 text"}
    ),
    "driver cannot send a datetime that overflows in UTC": lambda: _fail(
        "SELECT CAST(:t AS timestamptz)",
        {"t": datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14)))},
    ),
    "python error between statements": _python_error_between_statements,
    "error inside a unit of work": _error_inside_a_unit_of_work,
    "aborted transaction used again": _aborted_transaction_used_again,
    "broken connection": _connection_killed_mid_transaction,
}


@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_after_any_failure_the_next_100_requests_on_the_pool_succeed(
    database: str, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    use_database(monkeypatch, database, **POOL)
    for _ in range(3):  # each of the pool's connections, and a fresh one after a discard
        with pytest.raises(Exception):  # whichever way it fails
            FAILURES[failure]()
    for number in range(100):  # a reply meant for another statement would be another number
        with db.transaction() as conn:
            row = conn.execute(
                sa.text(
                    "SELECT CAST(:n AS integer), pg_current_xact_id_if_assigned() IS NULL,"
                    " current_setting('statement_timeout'), current_setting('TimeZone')"
                ),
                {"n": number},
            ).one()
            assert tuple(row) == (number, True, "300ms", "UTC")
            conn.execute(sa.text("INSERT INTO movies (title) VALUES (:t)"), {"t": f"m{number}"})
    with db.transaction() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM movies")).scalar_one() == 100
    pool = db.get_engine().pool
    assert isinstance(pool, sa.pool.QueuePool)
    assert pool.checkedout() == 0 and pool.size() == 2


def test_a_connection_that_died_while_idle_is_replaced_before_use(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pooled connections are pinged before reuse only after PING_IDLE_SECONDS idle; one
    that died meanwhile (a restart, an idle timeout) is replaced, and nobody sees it."""
    monkeypatch.setattr(db, "PING_IDLE_SECONDS", 0.0)
    with db.transaction() as conn:
        pid = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
    _terminate(pid)
    with db.transaction() as conn:
        assert conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one() != pid


def test_steady_concurrency_reuses_the_pools_connections(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More threads than pooled connections, for a while: they take turns on the pool's
    connections; none is opened per request (an overflow connection is closed whenever it
    comes back to a full pool, so under steady load it would be a new backend each time)."""
    monkeypatch.delenv("DB_MAX_OVERFLOW", raising=False)  # the default, as deployed
    use_database(monkeypatch, database, DB_POOL_SIZE="2")
    backends: set[int] = set()

    def requests() -> None:
        for _ in range(40):
            with db.transaction() as conn:
                pid = conn.execute(sa.text("SELECT pg_backend_pid(), pg_sleep(0.001)")).one()[0]
                backends.add(pid)

    threads = [threading.Thread(target=requests) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(backends) == 2  # 240 transactions, two backends
