"""python -m infra.aggregates verify|rebuild: drift is found, reported, and repaired."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from infra import aggregates
from shared import db
from tests.support import REPO
from tests.support.ratings import add_movie, add_reviews, aggregate, drift, review

DAY = datetime(2024, 5, 1, 12, tzinfo=UTC)


def lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def corrupt(movie: int, other: int) -> None:
    with db.transaction() as conn:
        conn.execute(
            sa.text(
                "UPDATE movie_ratings SET review_count = review_count + 1,"
                " rating_histogram[3] = 7 WHERE movie_id = :m"
            ),
            {"m": movie},
        )
        conn.execute(sa.text("DELETE FROM movie_rating_daily WHERE movie_id = :m"), {"m": other})
        conn.execute(
            sa.text("INSERT INTO movie_rating_daily VALUES (:m, '2000-01-01', 4, 2)"), {"m": movie}
        )


def test_a_consistent_database_verifies_clean(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    movie = add_movie()
    add_reviews(review(movie), review(movie, "neutral", 0.5, 5.0, DAY))
    assert aggregates.main(["verify"]) == 0
    assert lines(capsys) == [
        {"summary": {"movie_ratings": 0, "movie_rating_daily": 0, "drift": False}}
    ]


def test_drift_is_reported_row_by_row_and_exits_1(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    movie, other = add_movie("a"), add_movie("b")
    add_reviews(review(movie, created_at=DAY), review(other, created_at=DAY))
    corrupt(movie, other)
    assert aggregates.main(["verify"]) == 1
    out = lines(capsys)
    assert out[-1] == {"summary": {"movie_ratings": 1, "movie_rating_daily": 2, "drift": True}}
    ratings_row = next(row for row in out if row.get("table") == "movie_ratings")
    assert ratings_row["movie_id"] == movie
    assert ratings_row["expected"]["review_count"] == 1
    assert ratings_row["actual"]["review_count"] == 2
    daily = [row for row in out if row.get("table") == "movie_rating_daily"]
    assert {(row["movie_id"], row["day"]) for row in daily} == {
        (movie, "2000-01-01"),
        (other, "2024-05-01"),
    }
    assert all(row["expected"] is None or row["actual"] is None for row in daily)


def test_rebuild_repairs_everything_and_leaves_correct_rows_alone(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    movie, other, fine = add_movie("a"), add_movie("b"), add_movie("c")
    add_reviews(review(movie, created_at=DAY), review(other, created_at=DAY), review(fine))
    untouched = aggregate(fine)
    corrupt(movie, other)
    with db.transaction() as conn:  # a missing aggregate row is drift too
        conn.execute(sa.text("DELETE FROM movie_ratings WHERE movie_id = :m"), {"m": other})
    assert aggregates.main(["rebuild"]) == 0
    assert lines(capsys)[-1] == {
        "rebuilt": {"movie_ratings": 2, "movie_rating_daily": 2, "drift": True}
    }
    assert drift().clean
    assert aggregate(fine) == untouched
    assert aggregate(other)["review_count"] == 1
    assert aggregates.main(["verify"]) == 0


def test_emptied_days_are_not_drift(database: str) -> None:
    movie = add_movie()
    add_reviews(review(movie, created_at=DAY))
    with db.transaction() as conn:
        conn.exec_driver_sql("DELETE FROM reviews")
    with db.read() as conn:  # the aggregates move at commit (migration 0012)
        zero = conn.exec_driver_sql("SELECT review_count FROM movie_rating_daily").scalars().all()
    assert zero == [0]
    assert drift().clean


def test_the_command_line_exit_code(database: str) -> None:
    movie = add_movie()
    add_reviews(review(movie))
    with db.transaction() as conn:
        conn.exec_driver_sql("UPDATE movie_ratings SET positivity_sum = 0")
    command = [sys.executable, "-m", "infra.aggregates", "verify"]
    env = {**os.environ, "DATABASE_URL": database}
    drifted = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, check=False, timeout=60
    )
    assert drifted.returncode == 1, drifted.stderr
    assert json.loads(drifted.stdout.splitlines()[-1])["summary"]["drift"] is True
