"""Ratings function: HTTP entry point only; the logic lives in shared.ratings."""

from __future__ import annotations

import flask
import functions_framework

from shared import ratings as store
from shared.http import Api, Call
from shared.schemas.ratings import (
    Leaderboard,
    LeaderboardQuery,
    MovieRating,
    Trend,
    TrendQuery,
)

DESCRIPTION = f"""Rating aggregates and leaderboards, read from per-movie aggregates that every
review write maintains in its own transaction (never a scan of the reviews).

`average_positivity` is the mean P(positive) of a movie's reviews. `average_rating` is the mean
predicted 1..10 rating. `bayesian_rating` shrinks small samples toward a fixed prior:
`(C*m + rating_sum) / (C + review_count)` with m = {store.PRIOR_MEAN} (the mean rating of the
NSMC corpus) and C = {store.PRIOR_WEIGHT} reviews. The prior is fixed, not the live site-wide
mean, so each movie's score depends on its own row only and the leaderboard is an index scan.
A movie without reviews has zero counts and null averages, ratios and ratings.

`GET /ratings` pages (keyset cursor) through movies by `bayesian`, `average` (mean predicted
rating), `count` or `recent` (last aggregate change), descending, from one index per order.
`GET /ratings/{{movie_id}}/trend` sums the per-UTC-day aggregate into day, week or month periods
(empty periods included), over at most 366 days, 260 weeks or 120 months."""

api = Api("ratings", DESCRIPTION, prefix="/ratings")


@api.route(
    "/ratings",
    "GET",
    summary="Leaderboard of movies by rating, count or recency",
    query=LeaderboardQuery,
    response=Leaderboard,
)
def list_ratings(call: Call) -> Leaderboard:
    return store.leaderboard(call.query)


@api.route(
    "/ratings/<id:movie_id>", "GET", summary="A movie's rating aggregate", response=MovieRating
)
def get_rating(call: Call) -> MovieRating:
    return store.get(call.path["movie_id"])


@api.route(
    "/ratings/<id:movie_id>/trend",
    "GET",
    summary="Review count and mean positivity per day, week or month",
    query=TrendQuery,
    response=Trend,
)
def get_trend(call: Call) -> Trend:
    return store.trend(call.path["movie_id"], call.query)


@functions_framework.http
def ratings(request: flask.Request) -> flask.Response:
    return api(request)
