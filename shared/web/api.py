"""Typed calls to the public APIs: the console's only way to data (cursors stay opaque)."""

from __future__ import annotations

from typing import Any

from shared.schemas.movies import Movie, MoviePage
from shared.schemas.ratings import Leaderboard, MovieRating, Trend
from shared.schemas.reviews import Review, ReviewPage, SentimentList, SentimentOut
from shared.web.client import ApiUnavailable, Function, request


def list_movies(query: dict[str, Any]) -> MoviePage:
    return MoviePage.model_validate(request("movies", "GET", "/movies", query=query))


def get_movie(movie_id: int) -> Movie:
    return Movie.model_validate(request("movies", "GET", f"/movies/{movie_id}"))


def create_movie(fields: dict[str, Any]) -> Movie:
    return Movie.model_validate(request("movies", "POST", "/movies", body=fields, write=True))


def update_movie(movie_id: int, fields: dict[str, Any]) -> Movie:
    return Movie.model_validate(
        request("movies", "PATCH", f"/movies/{movie_id}", body=fields, write=True)
    )


def delete_movie(movie_id: int) -> None:
    request("movies", "DELETE", f"/movies/{movie_id}", write=True)


def get_rating(movie_id: int) -> MovieRating:
    return MovieRating.model_validate(request("ratings", "GET", f"/ratings/{movie_id}"))


def get_trend(movie_id: int, bucket: str = "week", periods_from: str | None = None) -> Trend:
    query = {"bucket": bucket, "from": periods_from}
    return Trend.model_validate(
        request("ratings", "GET", f"/ratings/{movie_id}/trend", query=query)
    )


def leaderboard(order: str, min_reviews: int, limit: int) -> Leaderboard:
    query = {"order": order, "min_reviews": min_reviews, "limit": limit}
    return Leaderboard.model_validate(request("ratings", "GET", "/ratings", query=query))


def list_reviews(movie_id: int, label: str | None, cursor: str | None, limit: int) -> ReviewPage:
    query = {"movie_id": movie_id, "label": label, "cursor": cursor, "limit": limit}
    return ReviewPage.model_validate(request("reviews", "GET", "/reviews", query=query))


def create_review(fields: dict[str, Any], idempotency_key: str) -> Review:
    """POST /reviews; a resubmitted form (same key, same body) replays the first answer."""
    body = request(
        "reviews",
        "POST",
        "/reviews",
        body=fields,
        write=True,
        headers={"Idempotency-Key": idempotency_key},
    )
    return Review.model_validate(body)


def preview(text: str) -> SentimentOut:
    """Score text without storing it (public, no key)."""
    body = request("reviews", "POST", "/sentiment", body={"text": text})
    return SentimentList.model_validate(body).items[0]


def openapi(function: Function) -> dict[str, Any]:
    """The function's own document, from under its prefix: through a shared base URL the
    bare /openapi.json is the console's merged one."""
    document = request(function, "GET", f"/{function}/openapi.json")
    if not isinstance(document, dict):
        raise ApiUnavailable(502, f"{function} did not answer with an OpenAPI document")
    return document
