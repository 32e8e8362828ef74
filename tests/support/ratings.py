"""Movies and reviews written with plain SQL, so the aggregate tests do not go through the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from infra import aggregates
from shared import db

LABELS = ("positive", "neutral", "negative")


def add_movie(
    title: str = "movie", genre: str | None = None, release_date: str | None = None
) -> int:
    with db.transaction() as conn:
        return int(
            conn.execute(
                sa.text(
                    "INSERT INTO movies (title, genre, release_date)"
                    " VALUES (:t, :g, CAST(:d AS date)) RETURNING id"
                ),
                {"t": title, "g": genre, "d": release_date},
            ).scalar_one()
        )


def review(
    movie_id: int,
    label: str = "positive",
    positivity: float = 0.9,
    rating: float = 9.0,
    created_at: datetime | None = None,
) -> dict[str, Any]:
    return {
        "movie_id": movie_id,
        "label": label,
        "positivity": positivity,
        "rating": rating,
        "created_at": created_at,
    }


def insert_reviews(conn: sa.Connection, rows: list[dict[str, Any]]) -> list[int]:
    """One multi-row INSERT (one statement, as a batch or upload would write)."""
    values, params = [], {}
    for i, row in enumerate(rows):
        values.append(
            f"(:m{i}, 'tester', '좋아요', :l{i}, :p{i}, 0.8, :r{i}, 'test',"
            f" coalesce(CAST(:c{i} AS timestamptz), clock_timestamp()))"
        )
        params.update(
            {
                f"m{i}": row["movie_id"],
                f"l{i}": row["label"],
                f"p{i}": row["positivity"],
                f"r{i}": row["rating"],
                f"c{i}": row["created_at"],
            }
        )
    sql = (
        "INSERT INTO reviews (movie_id, author, content, label, positivity, confidence,"
        f" rating, model_version, created_at) VALUES {', '.join(values)} RETURNING id"
    )
    return [int(i) for i in conn.execute(sa.text(sql), params).scalars()]


def add_reviews(*rows: dict[str, Any]) -> list[int]:
    with db.transaction() as conn:
        return insert_reviews(conn, list(rows))


def drift() -> aggregates.Drift:
    with db.transaction() as conn:
        return aggregates.verify(conn)


def aggregate(movie_id: int) -> dict[str, Any]:
    """The movie's movie_ratings row, or {} when it has none."""
    with db.transaction() as conn:
        row = (
            conn.execute(
                sa.text("SELECT * FROM movie_ratings WHERE movie_id = :id"), {"id": movie_id}
            )
            .mappings()
            .one_or_none()
        )
    return {} if row is None else dict(row)
