"""pg8000's statements in one round trip to PostgreSQL, not three (and BEGIN in none).

pg8000 (1.31) runs every statement that has parameters as three exchanges, each ended by a
Sync and read to its ReadyForQuery: Parse; then Describe; then Bind and Execute. COMMIT goes
the same way. Under load every round trip waits for the server and then for the CPU, so a
POST /reviews with an Idempotency-Key made 13 of them. libpq sends the five messages at once
(the extended protocol's pipelining) and reads the answers in order: ParseComplete, the
parameter and row descriptions, BindComplete, the rows, CommandComplete, ReadyForQuery. The
rows are decoded as pg8000 does, the row description having come first; an error makes the
server skip to the Sync and report it once, which pg8000's own reader raises, leaving the
connection as clean as before (ReadyForQuery read).

A transaction's BEGIN, which pg8000's cursor sends (and waits for) just before the
transaction's first statement, goes in the same write as that statement, and its answer is
read just before the statement's: a write transaction costs one round trip less.
"""

from __future__ import annotations

from typing import Any

import pg8000.core
from pg8000.converters import make_params

_core: Any = pg8000.core  # untyped: its message helpers and constants
BEGIN = "begin transaction"  # what pg8000's cursor sends before a transaction's first statement
_DEFERRED = "_pgwire_begin"  # set on a connection whose BEGIN waits for the next statement


def execute_simple(self: Any, statement: str) -> Any:
    """pg8000's execute_simple; its BEGIN waits for the statement that follows it."""
    if statement == BEGIN:
        setattr(self, _DEFERRED, True)
        return _core.Context(statement)
    begun = _write_deferred_begin(self)
    context = _core.Context(statement)
    self.send_QUERY(statement)
    _core._flush(self._sock)
    _read(self, begun, context)
    return context


def execute_unnamed(
    self: Any, statement: str, vals: Any = (), oids: Any = (), stream: Any = None
) -> Any:
    """pg8000's CoreConnection.execute_unnamed, with every message sent before any answer
    is read. The parameters are encoded first: a value pg8000 cannot send raises before a
    byte is written, so nothing half-sent is left on the connection."""
    params = make_params(self.py_types, vals)
    context = _core.Context(statement, stream=stream)
    begun = _write_deferred_begin(self)
    self.send_PARSE(_core.NULL_BYTE, statement, oids)
    self.send_DESCRIBE_STATEMENT(_core.NULL_BYTE)
    self.send_BIND(_core.NULL_BYTE, params)
    self.send_EXECUTE()
    _core._write(self._sock, _core.SYNC_MSG)
    _core._flush(self._sock)
    _read(self, begun, context)
    return context


def _write_deferred_begin(self: Any) -> Any:
    """The deferred BEGIN's context once its message is written; None if there is none. A
    connection switched to autocommit since (pg8000 would not have begun) drops it."""
    deferred = getattr(self, _DEFERRED, False)
    setattr(self, _DEFERRED, False)
    if not deferred or getattr(self, "autocommit", False):
        return None
    self.send_QUERY(BEGIN)
    return _core.Context(BEGIN)


def _read(self: Any, begun: Any, context: Any) -> None:
    """The answers in the order sent: BEGIN's (if it went), then the statement's, read to
    its ReadyForQuery even when BEGIN failed, whose error is then the one raised."""
    failure: Exception | None = None
    if begun is not None:
        try:
            self.handle_messages(begun)
        except Exception as error:  # raised below, once the connection is clean
            failure = error
    try:
        self.handle_messages(context)
    except Exception:
        if failure is None:
            raise
    if failure is not None:
        raise failure


def install() -> None:
    """Every pg8000 connection (SQLAlchemy's included) runs its statements this way."""
    pg8000.core.CoreConnection.execute_simple = execute_simple
    pg8000.core.CoreConnection.execute_unnamed = execute_unnamed
