"""pg8000's statements in one round trip to PostgreSQL, not three.

pg8000 (1.31) runs every statement that has parameters as three exchanges, each ended by a
Sync and read to its ReadyForQuery: Parse; then Describe; then Bind and Execute. COMMIT goes
the same way. Under load every round trip waits for the server and then for the CPU, so a
POST /reviews with an Idempotency-Key made 13 of them. libpq sends the five messages at once
(the extended protocol's pipelining) and reads the answers in order: ParseComplete, the
parameter and row descriptions, BindComplete, the rows, CommandComplete, ReadyForQuery. The
rows are decoded as pg8000 does, the row description having come first; an error makes the
server skip to the Sync and report it once, which pg8000's own reader raises, leaving the
connection as clean as before (ReadyForQuery read).
"""

from __future__ import annotations

from typing import Any

import pg8000.core
from pg8000.converters import make_params

_core: Any = pg8000.core  # untyped: its message helpers and constants


def execute_unnamed(
    self: Any, statement: str, vals: Any = (), oids: Any = (), stream: Any = None
) -> Any:
    """pg8000's CoreConnection.execute_unnamed, with every message sent before any answer
    is read. The parameters are encoded first: a value pg8000 cannot send raises before a
    byte is written, so nothing half-sent is left on the connection."""
    params = make_params(self.py_types, vals)
    context = _core.Context(statement, stream=stream)
    self.send_PARSE(_core.NULL_BYTE, statement, oids)
    self.send_DESCRIBE_STATEMENT(_core.NULL_BYTE)
    self.send_BIND(_core.NULL_BYTE, params)
    self.send_EXECUTE()
    _core._write(self._sock, _core.SYNC_MSG)
    _core._flush(self._sock)
    self.handle_messages(context)
    return context


def install() -> None:
    """Every pg8000 connection (SQLAlchemy's included) runs its statements this way."""
    pg8000.core.CoreConnection.execute_unnamed = execute_unnamed
