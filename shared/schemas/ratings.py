"""Rating shapes: one movie's aggregate, the leaderboard, the trend, and their queries."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal

from pydantic import Field, model_validator

from shared.schemas.common import Cursor, Limit, RequestModel, ResponseModel
from shared.schemas.movies import Genre

LeaderboardOrder = Literal["bayesian", "average", "count", "recent"]
Bucket = Literal["day", "week", "month"]
MAX_PERIODS: dict[str, int] = {"day": 366, "week": 260, "month": 120}
DEFAULT_PERIODS = 30
Day = Annotated[date, Field(ge=date(1900, 1, 1), le=date(2200, 12, 31))]


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
    year: Annotated[int, Field(ge=1870, le=2100)] | None = Field(
        default=None, description="release year"
    )
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
    """The start of the period `periods` before the period starting at `start`."""
    if bucket == "day":
        return start - timedelta(days=periods)
    if bucket == "week":
        return start - timedelta(weeks=periods)
    months = start.year * 12 + start.month - 1 - periods
    return date(months // 12, months % 12 + 1, 1)


def count_periods(first: date, last: date, bucket: str) -> int:
    a, b = period_start(first, bucket), period_start(last, bucket)
    if bucket == "day":
        return (b - a).days + 1
    if bucket == "week":
        return (b - a).days // 7 + 1
    return (b.year * 12 + b.month) - (a.year * 12 + a.month) + 1


class TrendQuery(RequestModel):
    """from/to are inclusive UTC days; to defaults to today, from to 30 periods back."""

    bucket: Bucket = Field(
        default="day",
        description="day | week (from Monday) | month; a range may span at most "
        "366 days, 260 weeks or 120 months",
    )
    from_: Day | None = Field(
        default=None, alias="from", description="first UTC day (inclusive); default 30 periods back"
    )
    to: Day | None = Field(default=None, description="last UTC day (inclusive); default today")

    @model_validator(mode="after")
    def _resolve_range(self) -> TrendQuery:
        last = self.to or datetime.now(UTC).date()
        first = self.from_ or shift_periods(
            period_start(last, self.bucket), self.bucket, DEFAULT_PERIODS - 1
        )
        if first > last:
            raise ValueError("from must not be after to")
        cap = MAX_PERIODS[self.bucket]
        if count_periods(first, last, self.bucket) > cap:
            raise ValueError(f"the range spans more than {cap} {self.bucket} periods")
        self.from_, self.to = first, last
        return self

    @property
    def first(self) -> date:
        assert self.from_ is not None
        return self.from_

    @property
    def last(self) -> date:
        assert self.to is not None
        return self.to
