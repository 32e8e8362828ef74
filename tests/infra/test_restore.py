"""The restore drill (infra/restore.py): a base backup taken under writes and an upload,
restored to a point in time, equals what was committed then; and its checks can fail."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import sqlalchemy as sa

from infra import restore
from tests.support import REPO


@pytest.mark.timeout(600)
def test_drill_restores_exactly_what_was_committed_at_the_point() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "infra.restore", "drill", "--reviews", "500"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    line = done.stdout.strip().splitlines()[-1]
    assert line.endswith("restore drill: ok"), line
    assert "restored to " in line and "reviews" in line and " s, " in line


@pytest.fixture
def db(database: str) -> sa.Engine:
    return restore.engine(database)


def test_check_names_a_table_that_differs_from_the_target(db: sa.Engine, database: str) -> None:
    with db.connect() as conn:
        captured = restore.fingerprint(conn)
    with db.begin() as conn:
        conn.execute(sa.text("INSERT INTO movies (title) VALUES ('late')"))
    with pytest.raises(restore.DrillFailed, match="differs from the target: movies, movie_ratings"):
        restore.check(database, captured)


def test_check_refuses_a_row_committed_after_the_target(db: sa.Engine, database: str) -> None:
    with db.begin() as conn:
        conn.execute(sa.text("INSERT INTO movies (title) VALUES (:t)"), {"t": restore.MARKER})
        captured = restore.fingerprint(conn)
    with pytest.raises(restore.DrillFailed, match="committed after the target came back"):
        restore.check(database, captured)


def test_fingerprint_prints_each_table_of_the_configured_database(
    db: sa.Engine, database: str
) -> None:
    with db.begin() as conn:
        conn.execute(sa.text("INSERT INTO movies (title) VALUES ('one'), ('two')"))
        expected = restore.fingerprint(conn)
    done = subprocess.run(
        [sys.executable, "-m", "infra.restore", "fingerprint"],
        cwd=REPO,
        env={**os.environ, "DATABASE_URL": database},
        capture_output=True,
        text=True,
        check=True,
    )
    printed = [json.loads(line) for line in done.stdout.splitlines()]
    assert {p["table"]: (p["rows"], p["md5"]) for p in printed} == expected
