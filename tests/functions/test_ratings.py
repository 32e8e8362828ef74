"""GET /ratings/{id}, the trend and the problems, through functions-framework's HTTP surface."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from shared.ratings import PRIOR_MEAN, PRIOR_WEIGHT
from tests.support import function_client
from tests.support.ratings import add_movie, add_reviews, review

PROBLEM = "application/problem+json"


@pytest.fixture
def ratings(database: str) -> FlaskClient:
    return function_client("ratings")


def assert_problem(response: TestResponse, status: int, field: str | None = None) -> Any:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == status and "Traceback" not in response.get_data(as_text=True)
    if field is not None:
        assert field in {error["field"] for error in body["errors"]}, body
    return body


def at(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


# --- one movie ----------------------------------------------------------------------------------


def test_movie_created_through_the_movies_function_has_an_empty_aggregate(
    ratings: FlaskClient, auth: dict[str, str]
) -> None:
    movies = function_client("movies")
    created = movies.post("/movies", json={"title": "기생충"}, headers=auth).get_json()
    body = ratings.get(f"/ratings/{created['id']}").get_json()
    assert body["movie_id"] == created["id"]
    assert body["review_count"] == 0
    assert body["label_counts"] == {"positive": 0, "neutral": 0, "negative": 0}
    assert body["rating_histogram"] == {str(i): 0 for i in range(1, 11)}
    for name in ("average_positivity", "positive_ratio", "average_rating", "bayesian_rating"):
        assert body[name] is None
    assert body["updated_at"]


def test_figures_match_a_hand_computed_example(ratings: FlaskClient) -> None:
    movie = add_movie()
    add_reviews(
        review(movie, "positive", 0.9, 9.0),
        review(movie, "positive", 0.7, 8.2),
        review(movie, "negative", 0.1, 2.0),
    )
    body = ratings.get(f"/ratings/{movie}").get_json()
    assert body["review_count"] == 3
    assert body["label_counts"] == {"positive": 2, "neutral": 0, "negative": 1}
    assert body["average_positivity"] == pytest.approx(1.7 / 3)
    assert body["positive_ratio"] == pytest.approx(2 / 3)
    assert body["average_rating"] == pytest.approx(19.2 / 3)
    # (C*m + rating_sum) / (C + n) = (10 * 7.5 + 19.2) / 13
    assert body["bayesian_rating"] == pytest.approx(94.2 / 13)
    assert body["bayesian_rating"] == pytest.approx(
        (PRIOR_WEIGHT * PRIOR_MEAN + 19.2) / (PRIOR_WEIGHT + 3)
    )
    assert body["rating_histogram"] == {**{str(i): 0 for i in range(1, 11)}, "2": 1, "8": 1, "9": 1}


def test_histogram_buckets_round_and_clamp(ratings: FlaskClient) -> None:
    movie = add_movie()
    # rating_bucket rounds like PostgreSQL's round(double precision): halves go to even
    add_reviews(*[review(movie, rating=r) for r in (1.0, 1.49, 1.51, 9.7, 10.0, 4.2, 6.5, 7.5)])
    histogram = ratings.get(f"/ratings/{movie}").get_json()["rating_histogram"]
    assert histogram == {
        **{str(i): 0 for i in range(1, 11)},
        "1": 2,
        "2": 1,
        "4": 1,
        "6": 1,
        "8": 1,
        "10": 2,
    }


def test_bayesian_shrinks_small_samples_toward_the_prior(ratings: FlaskClient) -> None:
    one, many = add_movie("one"), add_movie("many")
    add_reviews(review(one, rating=10.0))
    add_reviews(*[review(many, rating=9.0) for _ in range(90)])
    single = ratings.get(f"/ratings/{one}").get_json()
    crowd = ratings.get(f"/ratings/{many}").get_json()
    assert single["average_rating"] == 10.0
    assert single["bayesian_rating"] == pytest.approx((75 + 10) / 11)  # 7.727...
    assert crowd["bayesian_rating"] == pytest.approx((75 + 810) / 100)  # 8.85
    assert crowd["bayesian_rating"] > single["bayesian_rating"]


def test_deleting_reviews_returns_to_zeros_and_nulls(ratings: FlaskClient) -> None:
    from shared import db

    movie = add_movie()
    add_reviews(review(movie), review(movie))
    with db.transaction() as conn:
        conn.exec_driver_sql("DELETE FROM reviews")
    body = ratings.get(f"/ratings/{movie}").get_json()
    assert body["review_count"] == 0 and body["bayesian_rating"] is None


def test_a_deleted_movie_takes_its_rating_with_it(
    ratings: FlaskClient, auth: dict[str, str]
) -> None:
    movies = function_client("movies")
    movie = movies.post("/movies", json={"title": "곧 삭제"}, headers=auth).get_json()["id"]
    add_reviews(review(movie), review(movie, "negative", 0.2, 3.0))
    assert ratings.get(f"/ratings/{movie}").get_json()["review_count"] == 2
    assert movies.delete(f"/movies/{movie}", headers=auth).status_code == 204
    assert_problem(ratings.get(f"/ratings/{movie}"), 404)
    assert_problem(ratings.get(f"/ratings/{movie}/trend"), 404)
    assert ratings.get("/ratings?min_reviews=0").get_json()["items"] == []


def test_unknown_movie_is_a_404_problem(ratings: FlaskClient) -> None:
    assert_problem(ratings.get("/ratings/999999"), 404)
    assert_problem(ratings.get("/ratings/999999/trend"), 404)
    assert_problem(ratings.get("/ratings/0"), 404)
    assert_problem(ratings.get("/ratings/abc"), 404)


def test_openapi_documents_the_routes_and_the_prior(ratings: FlaskClient) -> None:
    doc = ratings.get("/openapi.json").get_json()
    assert {"/ratings", "/ratings/{movie_id}", "/ratings/{movie_id}/trend"} <= doc["paths"].keys()
    assert "m = 7.5" in doc["info"]["description"]
    assert "C = 10" in doc["info"]["description"]
    params = {p["name"] for p in doc["paths"]["/ratings/{movie_id}/trend"]["get"]["parameters"]}
    assert {"movie_id", "bucket", "from", "to"} <= params


# --- trend --------------------------------------------------------------------------------------


@pytest.fixture
def trend_movie(database: str) -> int:
    movie = add_movie()
    add_reviews(
        review(movie, positivity=1.0, created_at=at("2024-01-01", 1)),  # Monday
        review(movie, positivity=0.5, created_at=at("2024-01-01", 23)),
        review(movie, positivity=0.0, created_at=at("2024-01-03")),
        review(movie, positivity=0.2, created_at=at("2024-01-08")),  # next Monday
        review(movie, positivity=0.8, created_at=at("2024-02-29")),
        # 08:00 on Jan 2nd in Seoul is still Jan 1st in UTC
        review(
            movie, positivity=0.3, created_at=datetime.fromisoformat("2024-01-02T08:00:00+09:00")
        ),
    )
    return movie


def points(response: TestResponse) -> list[tuple[str, int, Any]]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [
        (p["period"], p["review_count"], p["average_positivity"])
        for p in response.get_json()["items"]
    ]


def test_trend_by_day_fills_empty_days(ratings: FlaskClient, trend_movie: int) -> None:
    got = points(
        ratings.get(f"/ratings/{trend_movie}/trend?bucket=day&from=2023-12-31&to=2024-01-03")
    )
    assert got == [
        ("2023-12-31", 0, None),
        ("2024-01-01", 3, pytest.approx(0.6)),
        ("2024-01-02", 0, None),
        ("2024-01-03", 1, 0.0),
    ]


def test_trend_by_week_starts_on_monday(ratings: FlaskClient, trend_movie: int) -> None:
    response = ratings.get(
        f"/ratings/{trend_movie}/trend?bucket=week&from=2024-01-01&to=2024-01-14"
    )
    assert response.get_json()["bucket"] == "week"
    assert points(response) == [
        ("2024-01-01", 4, pytest.approx(0.45)),
        ("2024-01-08", 1, pytest.approx(0.2)),
    ]


def test_trend_by_month_counts_only_days_inside_the_range(
    ratings: FlaskClient, trend_movie: int
) -> None:
    url = f"/ratings/{trend_movie}/trend?bucket=month&from=2023-12-01&to=2024-03-31"
    assert points(ratings.get(url)) == [
        ("2023-12-01", 0, None),
        ("2024-01-01", 5, pytest.approx(2.0 / 5)),
        ("2024-02-01", 1, pytest.approx(0.8)),
        ("2024-03-01", 0, None),
    ]
    partial = f"/ratings/{trend_movie}/trend?bucket=month&from=2024-01-02&to=2024-02-29"
    assert points(ratings.get(partial)) == [
        ("2024-01-01", 2, pytest.approx(0.1)),
        ("2024-02-01", 1, pytest.approx(0.8)),
    ]


def test_trend_defaults_to_the_last_thirty_days(ratings: FlaskClient, trend_movie: int) -> None:
    body = ratings.get(f"/ratings/{trend_movie}/trend").get_json()
    today = datetime.now(UTC).date()
    assert body["bucket"] == "day" and len(body["items"]) == 30
    assert body["items"][-1]["period"] == today.isoformat()
    assert body["items"][0]["period"] == (today - timedelta(days=29)).isoformat()
    months = ratings.get(f"/ratings/{trend_movie}/trend?bucket=month&to=2024-02-10").get_json()
    assert len(months["items"]) == 30 and months["items"][0]["period"] == "2021-09-01"


def test_trend_accepts_the_largest_ranges(ratings: FlaskClient, trend_movie: int) -> None:
    for bucket, first, last, count in (
        ("day", "2024-01-01", "2024-12-31", 366),
        ("week", "2020-01-06", "2024-12-29", 260),
        ("month", "2015-01-01", "2024-12-31", 120),
    ):
        got = points(
            ratings.get(f"/ratings/{trend_movie}/trend?bucket={bucket}&from={first}&to={last}")
        )
        assert len(got) == count
        assert date.fromisoformat(got[0][0]) <= date.fromisoformat(first)


def test_trend_rejects_bad_queries_with_422(ratings: FlaskClient, trend_movie: int) -> None:
    for query, field in [
        ("bucket=year", "query.bucket"),
        ("from=2024-13-01", "query.from"),
        ("to=yesterday", "query.to"),
        ("from_=2024-01-01", "query.from_"),
        ("extra=1", "query.extra"),
    ]:
        assert_problem(ratings.get(f"/ratings/{trend_movie}/trend?{query}"), 422, field)


def test_every_range_that_fits_the_schema_is_answered(
    ratings: FlaskClient, trend_movie: int
) -> None:
    """No cross-field rule the OpenAPI cannot state: a reversed range is empty, a long one
    keeps its last periods, and the calendar's ends are fine."""
    assert points(ratings.get(f"/ratings/{trend_movie}/trend?from=2024-02-01&to=2024-01-01")) == []
    for bucket, first, last, count in (
        ("day", "2023-01-01", "2024-01-02", 366),
        ("week", "2019-01-01", "2024-01-01", 260),
        ("month", "2010-01-01", "2024-01-01", 120),
        ("month", "0001-01-01", "9999-12-31", 120),
        ("week", "0001-01-01", "0001-02-01", 5),
        ("day", "9999-12-30", "9999-12-31", 2),
    ):
        query = f"bucket={bucket}&from={first}&to={last}"
        got = points(ratings.get(f"/ratings/{trend_movie}/trend?{query}"))
        assert len(got) == count, query
        assert got[-1][0] <= last
    assert points(ratings.get(f"/ratings/{trend_movie}/trend?to=0001-01-01")) == [
        ("0001-01-01", 0, None)
    ]
