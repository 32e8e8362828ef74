"""Which schema revisions a database descends through, recorded in the database itself.

alembic_version holds only the current revision. Code rolled back by a revert knows none of
the revisions added after it, so on its own it cannot tell a database that is simply newer
(a later release migrated it, and its migrations are expand/contract, so this code still runs
on it) from one at a revision of some other history. The migration environment
(infra/migrations/env.py) therefore records every run's chain of revisions as edges
(revision, parent) in alembic_lineage; an older tree then asks whether the database's revision
leads back to its own head. Ancestry never changes, so rows are only ever added.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from alembic.util import to_tuple

_CREATE = sa.text(
    "CREATE TABLE IF NOT EXISTS alembic_lineage ("
    " revision text NOT NULL, parent text NOT NULL, PRIMARY KEY (revision, parent))"
)
_ADD = sa.text(
    "INSERT INTO alembic_lineage (revision, parent) VALUES (:revision, :parent)"
    " ON CONFLICT DO NOTHING"
)
_EXISTS = sa.text("SELECT to_regclass('alembic_lineage') IS NOT NULL")
_EDGES = sa.text("SELECT revision, parent FROM alembic_lineage")


def record(conn: sa.Connection, script: ScriptDirectory, heads: Iterable[str]) -> None:
    """Record the chain from each of `heads` down to the base, as `script` knows it."""
    conn.execute(_CREATE)
    edges = {
        (sc.revision, parent)
        for head in heads
        for sc in script.walk_revisions("base", head)
        for parent in to_tuple(sc.down_revision, default=())
    }
    if edges:
        conn.execute(_ADD, [{"revision": r, "parent": p} for r, p in sorted(edges)])


def descends_from(conn: sa.Connection, revision: str, ancestor: str) -> bool:
    """Whether the recorded lineage leads from `revision` back to `ancestor`."""
    if not conn.execute(_EXISTS).scalar_one():
        return False
    parents: dict[str, set[str]] = {}
    for child, parent in conn.execute(_EDGES):
        parents.setdefault(child, set()).add(parent)
    seen: set[str] = set()
    todo = [revision]
    while todo:
        current = todo.pop()
        if current == ancestor:
            return True
        if current not in seen:
            seen.add(current)
            todo.extend(parents.get(current, ()))
    return False
