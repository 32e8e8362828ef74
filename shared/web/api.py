"""Typed calls to the public APIs: the console's only way to data (cursors stay opaque).

A call that acts for the signed-in user takes their session cookie (`as_user`) and sends it as
the credential; the rest are anonymous. The functions decide what the identity may do.
"""

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


def create_movie(as_user: str, fields: dict[str, Any]) -> Movie:
    body = request("movies", "POST", "/movies", body=fields, credential=as_user)
    return Movie.model_validate(body)


def update_movie(as_user: str, movie_id: int, fields: dict[str, Any]) -> Movie:
    body = request("movies", "PATCH", f"/movies/{movie_id}", body=fields, credential=as_user)
    return Movie.model_validate(body)


def delete_movie(as_user: str, movie_id: int) -> None:
    request("movies", "DELETE", f"/movies/{movie_id}", credential=as_user)


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


def my_reviews(as_user: str, cursor: str | None, limit: int) -> ReviewPage:
    """The signed-in user's own reviews, newest first."""
    query = {"mine": "true", "cursor": cursor, "limit": limit}
    body = request("reviews", "GET", "/reviews", query=query, credential=as_user)
    return ReviewPage.model_validate(body)


def get_review(review_id: int) -> Review:
    return Review.model_validate(request("reviews", "GET", f"/reviews/{review_id}"))


def create_review(as_user: str, fields: dict[str, Any], idempotency_key: str) -> Review:
    """POST /reviews; a resubmitted form (same key, same body) replays the first answer."""
    body = request(
        "reviews",
        "POST",
        "/reviews",
        body=fields,
        credential=as_user,
        headers={"Idempotency-Key": idempotency_key},
    )
    return Review.model_validate(body)


def update_review(as_user: str, review_id: int, fields: dict[str, Any]) -> Review:
    body = request("reviews", "PATCH", f"/reviews/{review_id}", body=fields, credential=as_user)
    return Review.model_validate(body)


def delete_review(as_user: str, review_id: int) -> None:
    request("reviews", "DELETE", f"/reviews/{review_id}", credential=as_user)


def delete_my_reviews(as_user: str) -> None:
    """Every review of the signed-in user, in one transaction (idempotent)."""
    request("reviews", "DELETE", "/reviews/mine", credential=as_user)


def preview(text: str) -> SentimentOut:
    """Score text without storing it (public)."""
    body = request("reviews", "POST", "/sentiment", body={"text": text})
    return SentimentList.model_validate(body).items[0]


def openapi(function: Function) -> dict[str, Any]:
    """The function's own document, from under its prefix: through a shared base URL the
    bare /openapi.json is the console's merged one."""
    document = request(function, "GET", f"/{function}/openapi.json")
    if not isinstance(document, dict):
        raise ApiUnavailable(502, f"{function} did not answer with an OpenAPI document")
    return document
