"""Ratings function: HTTP entry point only; the logic lives in shared.ratings."""

from __future__ import annotations

import flask
import functions_framework

import shared.ratings
from shared.http import Api
from shared.schemas.ratings import (
    Leaderboard,
    LeaderboardQuery,
    MovieRating,
    Trend,
    TrendQuery,
)
from shared.settings import Need, needs

DESCRIPTION = f"""Rating aggregates and leaderboards, read from per-movie aggregates that every
review write maintains in its own transaction (never a scan of the reviews).

`average_positivity` is the mean P(positive) of a movie's reviews. `average_rating` is the mean
predicted 1..10 rating. `bayesian_rating` shrinks small samples toward a fixed prior:
`(C*m + rating_sum) / (C + review_count)` with m = {shared.ratings.PRIOR_MEAN} (the mean
rating of the NSMC corpus) and C = {shared.ratings.PRIOR_WEIGHT} reviews. The prior is fixed,
not the live site-wide mean, so each movie's score depends on its own row only and the
leaderboard is an index scan.
A movie without reviews has zero counts and null averages, ratios and ratings.

`GET /ratings` pages (keyset cursor) through movies by `bayesian`, `average` (mean predicted
rating), `count` or `recent` (last aggregate change), descending, from one index per order.
`GET /ratings/{{movie_id}}/trend` sums the per-UTC-day aggregate into day, week or month periods
(empty periods included): at most 366 days, 260 weeks or 120 months, the last ones of the
range; a `from` after `to` is an empty range."""

api = Api("ratings", DESCRIPTION, prefix="/ratings")


@api.get("/ratings", summary="Leaderboard of movies by rating, count or recency")
def list_ratings(query: LeaderboardQuery) -> Leaderboard:
    return shared.ratings.leaderboard(query)


@api.get("/ratings/<id:movie_id>", summary="A movie's rating aggregate")
def get_rating(movie_id: int) -> MovieRating:
    return shared.ratings.get(movie_id)


@api.get(
    "/ratings/<id:movie_id>/trend",
    summary="Review count and mean positivity per day, week or month",
)
def get_trend(movie_id: int, query: TrendQuery) -> Trend:
    return shared.ratings.trend(movie_id, query)


@functions_framework.http
@needs(Need.DATABASE, Need.CURSOR_KEY)  # the leaderboard signs cursors
def ratings(request: flask.Request) -> flask.Response:
    return api(request)
