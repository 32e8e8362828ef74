"""pg8000's placeholder rewrite (%s or :name to $1), remembered per statement.

pg8000 rewrites every statement it executes by scanning it character by character in
Python, on every execution: 7–12% of a function's CPU under the mixed load (py-spy --gil),
for the same few statements each time (SQLAlchemy caches their compiled text). The rewrite
depends on the statement alone, so it is computed once per statement and reused.
"""

from __future__ import annotations

import functools
from typing import Any

import pg8000.dbapi
import pg8000.legacy

# pg8000's own rewrite, the one rule (install() keeps it aside: should this module be
# loaded again after install(), it must not take the remembered one for pg8000's)
_ORIGINAL = "_unremembered_convert_paramstyle"
_scan = getattr(pg8000.dbapi, _ORIGINAL, pg8000.dbapi.convert_paramstyle)


class _Names(dict[str, Any]):
    """Arguments that answer each named placeholder with its own name."""

    def __getitem__(self, key: str) -> str:
        return key


@functools.lru_cache(maxsize=1024)
def plan(style: str, query: str) -> tuple[str, tuple[str, ...] | None]:
    """`query` rewritten, and the names whose values fill $1, $2, ... (None: the arguments
    are positional and go as given)."""
    names = _Names()
    statement, values = _scan(style, query, names)
    return statement, None if values is names else tuple(values)


def convert_paramstyle(style: str, query: str, args: Any) -> tuple[str, Any]:
    """pg8000.dbapi.convert_paramstyle, with the scan remembered."""
    statement, names = plan(style, query)
    if names is None:
        return statement, args
    return statement, tuple(args[name] for name in names)


def install() -> None:
    """Both of pg8000's DB-API cursors (legacy: what SQLAlchemy uses) rewrite through plan()."""
    setattr(pg8000.dbapi, _ORIGINAL, _scan)  # an attribute of ours on their module
    pg8000.legacy.convert_paramstyle = convert_paramstyle
    pg8000.dbapi.convert_paramstyle = convert_paramstyle
