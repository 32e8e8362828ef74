"""The connection pool: created lazily on first use, shared by every thread of the instance."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from shared import db_types, failures, paramstyle, pgwire, tracing
from shared.errors import DatabaseUnavailable
from shared.lazy import Lazy
from shared.settings import Settings, get_settings

PING_IDLE_SECONDS = 1.0
# the connection of the unit of work open in this thread (see unit_of_work), if any
_unit: ContextVar[sa.Connection | None] = ContextVar("unit_of_work", default=None)


def _direct_engine(settings: Settings, **pool: Any) -> sa.Engine:
    assert settings.database_url is not None
    url = sa.make_url(settings.database_url).set(drivername="postgresql+pg8000")
    return sa.create_engine(url, **pool)


def _new_connector() -> Any:
    from google.cloud.sql.connector import Connector

    return Connector(refresh_strategy="lazy")


_connector: Lazy[Any] = Lazy(_new_connector, close=lambda connector: connector.close())


def _cloud_sql_engine(settings: Settings, **pool: Any) -> sa.Engine:
    """Cloud SQL Python Connector with IAM database auth; one Connector per process."""
    connector = _connector.get()

    def getconn() -> Any:
        return connector.connect(
            settings.instance_connection_name,
            "pg8000",
            user=settings.db_iam_user,
            db=settings.db_name,
            enable_iam_auth=True,
        )

    return sa.create_engine("postgresql+pg8000://", creator=getconn, **pool)


def socket_timeout_s(settings: Settings) -> float:
    """pg8000's socket timeout: past the statement timeout, so PostgreSQL's own cancel (a
    clean 57014 error on a live connection) always comes first; a shorter one cut long
    statements off mid-reply and left the connection unusable."""
    return settings.db_statement_timeout_ms / 1000 + 10


def build_engine(settings: Settings) -> sa.Engine:
    """A pooled engine for the configured database (direct URL or Cloud SQL)."""
    pool = {
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_max_overflow,
        "pool_timeout": settings.db_pool_timeout,
        "pool_recycle": 1800,
        "pool_pre_ping": False,  # _ping_if_idle instead
        "connect_args": {"timeout": socket_timeout_s(settings)} if settings.database_url else {},
    }
    if not (settings.database_url or settings.instance_connection_name):
        raise RuntimeError("no database configured: set DATABASE_URL or INSTANCE_CONNECTION_NAME")
    make = _direct_engine if settings.database_url else _cloud_sql_engine
    paramstyle.install()
    pgwire.install()
    engine = make(settings, **pool)
    tracing.instrument(engine)
    timeout_ms = settings.db_statement_timeout_ms

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute(f"SET statement_timeout = {int(timeout_ms)}")
        cursor.execute("SET TIME ZONE 'UTC'")
        cursor.close()
        dbapi_conn.commit()
        db_types.register(dbapi_conn)

    sa.event.listen(engine, "handle_error", discard_if_unsure)
    _ping_if_idle(engine)
    return engine


def _ping_if_idle(engine: sa.Engine) -> None:
    """Ping a pooled connection before reuse only when it sat idle PING_IDLE_SECONDS or more.

    SQLAlchemy's pool_pre_ping pings on every checkout: one more round trip on every request
    (a third of a GET /ratings/{id}'s). Under load a connection comes back within
    milliseconds; one idle longer (a quiet spell, a database restart) is still pinged, and
    a dead one replaced, before anyone uses it. A connection that dies within that second
    fails its request (503), and the pool is invalidated with it (discard_if_unsure).
    """

    @sa.event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _ping(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since < PING_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as error:  # the pool replaces it and checks out another
            raise sa_exc.DisconnectionError(f"stale pooled connection: {error}") from error


def discard_if_unsure(context: sa.engine.ExceptionContext) -> None:
    """Never give a connection back to the pool unless it is known to be clean.

    PostgreSQL's own error reply (a SQLSTATE) leaves the connection ready for the next
    statement, and the pool rolls the transaction back as it takes the connection back. Any
    other exception raised while the driver sends or reads a statement (a value it cannot
    encode, such as a lone surrogate or a datetime that overflows in UTC; a broken socket)
    may leave half a message on the wire, and the next request on that connection would read
    the wrong reply: such a connection is discarded (closed, the pool opens a new one). Only
    the server going away (a disconnect, 08xxx, a shutdown) invalidates the whole pool.
    """
    if context.is_disconnect:
        return
    code = failures.sqlstate(context.original_exception)
    if failures.ends_session(code):
        context.is_disconnect = True
    elif code is None and context.execution_context is not None:
        context.is_disconnect = True
        context.invalidate_pool_on_disconnect = False


_engine: Lazy[sa.Engine] = Lazy(lambda: build_engine(get_settings()), close=sa.Engine.dispose)


def get_engine() -> sa.Engine:
    """The instance's engine, built on first use (never at import or cold start)."""
    return _engine.get()


def dispose() -> None:
    """Drop the pool (tests, and settings changes between them)."""
    _engine.reset()


@contextmanager
def transaction() -> Iterator[sa.Connection]:
    """One transaction; connection-level failures become DatabaseUnavailable (503).

    Inside a unit_of_work() it joins that unit's transaction instead of opening its own.
    """
    joined = _unit.get()
    if joined is not None:
        yield joined
        return
    with _reachable(), get_engine().begin() as conn:
        yield conn


@contextmanager
def session() -> Iterator[sa.Connection]:
    """A pooled connection in autocommit mode, for as long as the with-block lasts.

    Each statement commits by itself and, between statements, the session holds no
    snapshot: what a long-held session-level lock needs (an open transaction, even an idle
    one, holds back the xmin horizon, so vacuum can remove no dead row anywhere meanwhile).
    """
    with _reachable(), get_engine().connect() as conn:
        yield conn.execution_options(isolation_level="AUTOCOMMIT")


@contextmanager
def read() -> Iterator[sa.Connection]:
    """For a read of one statement: no transaction around it (each statement reads its own
    snapshot). In a transaction the statement would take its round trip (its BEGIN goes with
    it, shared/pgwire.py) and COMMIT another: a read of one statement costs 1 round trip rather
    than 2 (7 with pg8000's own exchanges). Inside a unit_of_work() it joins that unit's
    transaction (to see the unit's own writes).
    """
    joined = _unit.get()
    if joined is not None:
        yield joined
        return
    with _reachable(), get_engine().connect() as conn:
        raw: Any = conn.connection.dbapi_connection
        raw.autocommit = True  # the driver's own switch: SQLAlchemy's costs a round trip
        try:
            yield conn
        finally:
            raw.autocommit = False


@contextmanager
def _reachable() -> Iterator[None]:
    """Connection-level failures inside become DatabaseUnavailable (503 + Retry-After)."""
    try:
        yield
    except sa_exc.DBAPIError as error:
        if failures.unreachable(error):
            raise DatabaseUnavailable(
                "the database is unreachable", retry_after=get_settings().retry_after_seconds
            ) from error
        raise
    except sa_exc.TimeoutError as error:
        raise DatabaseUnavailable(
            "no database connection was free in time",
            retry_after=get_settings().retry_after_seconds,
        ) from error


@contextmanager
def unit_of_work() -> Iterator[sa.Connection]:
    """One transaction that every transaction() opened in this thread meanwhile joins.

    For work that must commit all or nothing across functions that each open their own
    transaction (an idempotent request: its writes and the remembered response).
    """
    if _unit.get() is not None:
        raise RuntimeError("units of work do not nest")
    with transaction() as conn:
        token = _unit.set(conn)
        try:
            yield conn
        finally:
            _unit.reset(token)


def ping() -> None:
    """Raise DatabaseUnavailable unless a trivial query succeeds."""
    with read() as conn:
        conn.execute(sa.text("SELECT 1"))


# Arrays go over the wire as PostgreSQL array literals built here, every element quoted:
# the driver leaves strings such as "null" unquoted (PostgreSQL then reads SQL NULL), and
# its per-character escaping costs more than scoring and inserting a batch put together.
def text_array(values: Iterable[str | None]) -> str:
    """A text[] literal; None becomes NULL, every string is stored byte for byte."""
    return "{" + ",".join("NULL" if value is None else _quoted(value) for value in values) + "}"


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def number_array(values: Iterable[float | int | None]) -> str:
    """A bigint[] or float8[] literal; None becomes NULL (bool is refused: it is an int to
    Python only)."""
    parts = []
    for value in values:
        if value is None:
            parts.append("NULL")
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"not a number: {value!r}")
        parts.append(repr(value))
    return "{" + ",".join(parts) + "}"
