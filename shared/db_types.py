"""Faster readers for the column types every list reads (registered on each new connection).

pg8000 reads timestamptz, timestamp and date with datetime.strptime (~23 µs a value): a page
of 20 movies carries 40 timestamps, ~1 ms of CPU per request, more than its query costs.
Python's fromisoformat reads PostgreSQL's text form (ISO 8601, our sessions in UTC) in under
a microsecond. Whatever it cannot read (infinity, BC dates, offsets with seconds) goes to the
driver's own reader, so every value reads exactly as before.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from pg8000 import converters


def _iso(fast: Callable[[str], Any], fallback: Callable[[str], Any]) -> Callable[[str], Any]:
    def read(data: str) -> Any:
        try:
            return fast(data)
        except ValueError:
            return fallback(data)

    return read


READERS = {
    converters.TIMESTAMPTZ: _iso(datetime.fromisoformat, converters.timestamptz_in),
    converters.TIMESTAMP: _iso(datetime.fromisoformat, converters.timestamp_in),
    converters.DATE: _iso(date.fromisoformat, converters.date_in),
}


def register(dbapi_conn: Any) -> None:
    """Use the fast readers on this pg8000 connection."""
    for oid, read in READERS.items():
        dbapi_conn.register_in_adapter(oid, read)
