"""Rating reads: every figure comes from the maintained aggregates, never from reviews.

movie_ratings and movie_rating_daily are kept by the triggers of migration 0002 in the same
transaction as every review write (applied at its COMMIT since migration 0012); migration 0005
adds the generated average/bayesian columns and one btree per leaderboard order.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from shared import db, pagination
from shared.errors import NotFound
from shared.schemas.ratings import (
    LabelCounts,
    Leaderboard,
    LeaderboardItem,
    LeaderboardQuery,
    MovieRating,
    Trend,
    TrendPoint,
    TrendQuery,
    period_start,
)

# The fixed Bayesian prior (mirrors the generated column of migration 0005).
PRIOR_MEAN = 7.5  # m: mean rating of the NSMC corpus (7.57 over 642k reviews)
PRIOR_WEIGHT = 10  # C: the prior counts as much as this many reviews

COLUMNS = """r.movie_id, r.review_count, r.positive_count, r.neutral_count, r.negative_count,
    r.rating_histogram, r.average_rating, r.bayesian_rating, r.model_versions, r.updated_at,
    r.positivity_sum / nullif(r.review_count, 0) AS average_positivity,
    r.positive_count::numeric / nullif(r.review_count, 0) AS positive_ratio"""
# order name -> the keyset reading a 0005 index backwards (ties by movie id, descending)
ORDERS = {
    "bayesian": pagination.Keyset("coalesce(r.bayesian_rating, 0)", "numeric", True, "r.movie_id"),
    "average": pagination.Keyset("coalesce(r.average_rating, 0)", "numeric", True, "r.movie_id"),
    "count": pagination.Keyset("r.review_count", "integer", True, "r.movie_id"),
    "recent": pagination.Keyset("r.updated_at", "timestamptz", True, "r.movie_id"),
}
STEPS = {"day": "1 day", "week": "1 week", "month": "1 month"}


def _float(value: Decimal | float | None) -> float | None:
    return None if value is None else float(value)


def _fields(row: Any) -> dict[str, Any]:
    return {
        "movie_id": row["movie_id"],
        "review_count": row["review_count"],
        "average_positivity": _float(row["average_positivity"]),
        "label_counts": LabelCounts(
            positive=row["positive_count"],
            neutral=row["neutral_count"],
            negative=row["negative_count"],
        ),
        "positive_ratio": _float(row["positive_ratio"]),
        "rating_histogram": {str(i + 1): n for i, n in enumerate(row["rating_histogram"])},
        "average_rating": _float(row["average_rating"]),
        "bayesian_rating": _float(row["bayesian_rating"]),
        "model_versions": row["model_versions"],
        "updated_at": row["updated_at"],
    }


def _not_found(movie_id: int) -> NotFound:
    return NotFound(f"movie {movie_id} does not exist")


def get(movie_id: int) -> MovieRating:
    """One primary-key read of the movie's aggregate row: O(1) whatever its review count."""
    with db.read() as conn:
        row = (
            conn.execute(
                sa.text(f"SELECT {COLUMNS} FROM movie_ratings r WHERE r.movie_id = :id"),  # noqa: S608
                {"id": movie_id},
            )
            .mappings()
            .one_or_none()
        )
    if row is None:
        raise _not_found(movie_id)
    return MovieRating(**_fields(row))


def _leaderboard_filters(query: LeaderboardQuery) -> tuple[list[str], dict[str, Any]]:
    where = ["r.review_count >= :min_reviews"]
    params: dict[str, Any] = {"min_reviews": query.min_reviews}
    if query.genre:
        where.append("lower(m.genre) = lower(:genre)")
        params["genre"] = query.genre
    if query.year:
        where.append(
            "m.release_date >= make_date(:year, 1, 1)"
            " AND m.release_date < make_date(:year + 1, 1, 1)"
        )
        params["year"] = query.year
    return where, params


def leaderboard_listing(query: LeaderboardQuery) -> pagination.Listing:
    """The page query: a backward scan of the order's index, joined to movies by primary key."""
    where, params = _leaderboard_filters(query)
    return pagination.Listing(
        name="ratings",
        columns=f"{COLUMNS}, m.title, m.genre, m.release_date",
        source="movie_ratings r JOIN movies m ON m.id = r.movie_id",
        order=ORDERS[query.order],
        where=where,
        params=params,
    )


def leaderboard(query: LeaderboardQuery) -> Leaderboard:
    """A keyset page of movies in the requested order (descending, ties by id descending)."""
    rows, next_cursor = pagination.fetch_page(
        leaderboard_listing(query), limit=query.limit, cursor=query.cursor
    )
    items = [
        LeaderboardItem(
            **_fields(row), title=row["title"], genre=row["genre"], release_date=row["release_date"]
        )
        for row in rows
    ]
    return Leaderboard(items=items, next_cursor=next_cursor)


TREND_SQL = """
WITH periods AS (
    SELECT p::date AS period
    FROM generate_series(CAST(:first_period AS timestamp), CAST(:last_period AS timestamp),
                         CAST(:step AS interval)) AS p
),
sums AS (
    SELECT date_trunc(:bucket, d.day::timestamp)::date AS period,
           sum(d.review_count) AS n, sum(d.positivity_sum) AS positivity
    FROM movie_rating_daily d
    WHERE d.movie_id = :id AND d.day BETWEEN :first AND :last
    GROUP BY 1
)
SELECT periods.period, coalesce(sums.n, 0)::integer AS review_count,
       sums.positivity / nullif(sums.n, 0) AS average_positivity
FROM periods LEFT JOIN sums USING (period)
ORDER BY periods.period
"""


def trend(movie_id: int, query: TrendQuery) -> Trend:
    """Per-period counts and mean positivity from the daily aggregate (PK range scan)."""
    params = {
        "id": movie_id,
        "bucket": query.bucket,
        "step": STEPS[query.bucket],
        "first": query.first,
        "last": query.last,
        "first_period": period_start(query.first, query.bucket),
        "last_period": period_start(query.last, query.bucket),
    }
    with db.transaction() as conn:
        exists = conn.execute(
            sa.text("SELECT 1 FROM movie_ratings WHERE movie_id = :id"), {"id": movie_id}
        ).first()
        if exists is None:
            raise _not_found(movie_id)
        rows = conn.execute(sa.text(TREND_SQL), params).mappings().all()
    items = [
        TrendPoint(
            period=row["period"],
            review_count=row["review_count"],
            average_positivity=_float(row["average_positivity"]),
        )
        for row in rows
    ]
    return Trend(movie_id=movie_id, bucket=query.bucket, items=items)
