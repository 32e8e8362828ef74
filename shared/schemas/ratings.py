"""Rating shapes: one movie's aggregate, the leaderboard, the trend, and their queries."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal

from pydantic import Field, model_validator

from shared.schemas.common import Cursor, Limit, QueryDay, RequestModel, ResponseModel
from shared.schemas.movies import Genre, Year

LeaderboardOrder = Literal["bayesian", "average", "count", "recent"]
Bucket = Literal["day", "week", "month"]
MAX_PERIODS: dict[str, int] = {"day": 366, "week": 260, "month": 120}
DEFAULT_PERIODS = 30


class LabelCounts(ResponseModel):
    positive: int
    neutral: int
    negative: int


class MovieRating(ResponseModel):
    """A movie's maintained aggregate; averages and ratios are null while it has no reviews."""

    movie_id: int
    review_count: int
    average_positivity: float | None = Field(description="mean P(positive) of the reviews, 0..1")
    label_counts: LabelCounts
    positive_ratio: float | None = Field(description="share of reviews labelled positive")
    rating_histogram: dict[str, int] = Field(
        description='predicted ratings rounded to 1..10: {"1": n, ..., "10": n}'
    )
    average_rating: float | None = Field(description="mean predicted rating, 1..10")
    bayesian_rating: float | None = Field(
        description="(C*m + rating_sum) / (C + review_count) with the fixed prior m=7.5, C=10"
    )
    model_versions: dict[str, int] = Field(
        description="how many of the reviews each sentiment model version scored, "
        '{"<version>": n}; during a rollout the old version\'s count falls to zero'
    )
    updated_at: datetime


class LeaderboardItem(MovieRating):
    title: str
    genre: str | None
    release_date: date | None


class Leaderboard(ResponseModel):
    items: list[LeaderboardItem]
    next_cursor: str | None


class LeaderboardQuery(RequestModel):
    order: LeaderboardOrder = Field(
        default="bayesian",
        description="bayesian | average (mean predicted rating) | count | recent (aggregate "
        "updated_at); always descending, ties by movie id descending",
    )
    min_reviews: Annotated[int, Field(ge=0, le=1_000_000_000)] = Field(
        default=1, description="only movies with at least this many reviews (0 includes all)"
    )
    genre: Genre | None = Field(default=None, description="case-insensitive exact genre")
    year: Year | None = Field(default=None, description="release year")
    limit: Limit = 20
    cursor: Cursor | None = None


class TrendPoint(ResponseModel):
    period: date = Field(description="first day of the period (weeks start on Monday)")
    review_count: int
    average_positivity: float | None


class Trend(ResponseModel):
    movie_id: int
    bucket: Bucket
    items: list[TrendPoint]


def period_start(day: date, bucket: str) -> date:
    if bucket == "week":
        return day - timedelta(days=day.weekday())
    if bucket == "month":
        return day.replace(day=1)
    return day


def shift_periods(start: date, bucket: str, periods: int) -> date:
    """The start of the period `periods` before the period starting at `start` (never
    before the first day the calendar holds)."""
    if bucket == "month":
        months = start.year * 12 + start.month - 1 - periods
        return date(months // 12, months % 12 + 1, 1) if months >= 12 else date.min
    step = timedelta(days=periods if bucket == "day" else 7 * periods)
    return start - step if start - date.min >= step else date.min


class TrendQuery(RequestModel):
    """from/to are inclusive UTC days; to defaults to today, from to 30 periods back.

    No combination is an error: a `from` after `to` is an empty range, and a range longer
    than the bucket allows keeps its last periods (`from` moves up), so every request that
    fits the schema is answered.
    """

    bucket: Bucket = Field(
        default="day",
        description="day | week (from Monday) | month; at most 366 days, 260 weeks or "
        "120 months are returned, the last ones of the range",
    )
    from_: QueryDay | None = Field(
        default=None,
        alias="from",
        description="first UTC day (inclusive); default 30 periods back; moved up to the "
        "first period allowed when the range is longer; after `to`, the range is empty",
    )
    to: QueryDay | None = Field(default=None, description="last UTC day (inclusive); default today")

    @model_validator(mode="after")
    def _resolve_range(self) -> TrendQuery:
        last = self.to or datetime.now(UTC).date()
        end = period_start(last, self.bucket)
        earliest = shift_periods(end, self.bucket, MAX_PERIODS[self.bucket] - 1)
        first = self.from_ or shift_periods(end, self.bucket, DEFAULT_PERIODS - 1)
        self.from_, self.to = max(first, earliest), last
        return self

    @property
    def first(self) -> date:
        assert self.from_ is not None
        return self.from_

    @property
    def last(self) -> date:
        assert self.to is not None
        return self.to
