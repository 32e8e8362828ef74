"""GET /ratings: orders, filters, keyset pagination, and a plan that never reads reviews."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from shared import db, pagination
from shared.ratings import leaderboard_listing
from shared.schemas.ratings import LeaderboardQuery
from tests.functions.test_ratings import assert_problem
from tests.support import function_client
from tests.support.ratings import add_movie, add_reviews, review


@pytest.fixture
def ratings(database: str) -> FlaskClient:
    return function_client("ratings")


@pytest.fixture
def board(database: str) -> dict[str, int]:
    """Five movies with known aggregates (ids in creation order)."""
    ids = {
        "solo10": add_movie("solo10", "드라마", "2019-05-30"),  # 1 review of 10
        "crowd9": add_movie("crowd9", "드라마", "2019-01-01"),  # 30 reviews of 9
        "mixed": add_movie("mixed", "액션", "2020-07-15"),  # 5 of 8, 5 of 4
        "low": add_movie("low", "액션", "2019-12-31"),  # 3 reviews of 2
        "empty": add_movie("empty", "드라마", "2019-06-01"),  # none
    }
    add_reviews(review(ids["solo10"], rating=10.0))
    add_reviews(*[review(ids["crowd9"], rating=9.0) for _ in range(30)])
    add_reviews(*[review(ids["mixed"], rating=r) for r in [8.0] * 5 + [4.0] * 5])
    add_reviews(*[review(ids["low"], "negative", 0.1, 2.0) for _ in range(3)])
    add_reviews(review(ids["low"], "negative", 0.1, 2.0))  # the most recently updated
    return ids


def names(response: TestResponse, ids: dict[str, int]) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    by_id = {v: k for k, v in ids.items()}
    return [by_id[item["movie_id"]] for item in response.get_json()["items"]]


def test_orders(ratings: FlaskClient, board: dict[str, int]) -> None:
    # bayesian: crowd9 (75+270)/40=8.625, solo10 85/11=7.73, low (75+8)/14=5.93, mixed 135/20=6.75
    assert names(ratings.get("/ratings"), board) == ["crowd9", "solo10", "mixed", "low"]
    assert names(ratings.get("/ratings?order=average"), board) == [
        "solo10",
        "crowd9",
        "mixed",
        "low",
    ]
    assert names(ratings.get("/ratings?order=count"), board) == ["crowd9", "mixed", "low", "solo10"]
    assert names(ratings.get("/ratings?order=recent"), board) == [
        "low",
        "mixed",
        "crowd9",
        "solo10",
    ]


def test_items_carry_the_movie_and_its_figures(ratings: FlaskClient, board: dict[str, int]) -> None:
    item = ratings.get("/ratings?limit=1").get_json()["items"][0]
    assert item["title"] == "crowd9" and item["genre"] == "드라마"
    assert item["release_date"] == "2019-01-01"
    assert item["bayesian_rating"] == pytest.approx(8.625)
    assert item["rating_histogram"]["9"] == 30


def test_filters(ratings: FlaskClient, board: dict[str, int]) -> None:
    assert names(ratings.get("/ratings?min_reviews=5"), board) == ["crowd9", "mixed"]
    assert names(ratings.get("/ratings?min_reviews=0"), board) == [
        "crowd9",
        "solo10",
        "mixed",
        "low",
        "empty",
    ]
    assert names(ratings.get("/ratings?genre=액션"), board) == ["mixed", "low"]
    assert names(ratings.get("/ratings?year=2019&order=count"), board) == [
        "crowd9",
        "low",
        "solo10",
    ]
    assert names(ratings.get("/ratings?year=2019&genre=드라마&min_reviews=0"), board) == [
        "crowd9",
        "solo10",
        "empty",
    ]
    assert names(ratings.get("/ratings?genre=코미디"), board) == []


ORDERS = ("bayesian", "average", "count", "recent")


def test_pages_neither_skip_nor_repeat_with_ties(ratings: FlaskClient) -> None:
    movies = [add_movie(f"m{i}") for i in range(23)]
    for i, movie in enumerate(movies):  # groups of identical aggregates: ties everywhere
        add_reviews(*[review(movie, rating=float(1 + i % 3)) for _ in range(1 + i % 2)])
    for order in ORDERS:
        assert_pages_cover(ratings, order, movies)


def assert_pages_cover(ratings: FlaskClient, order: str, movies: list[int]) -> None:
    seen, cursor, pages = [], None, 0
    while True:
        url = f"/ratings?order={order}&limit=5" + (f"&cursor={cursor}" if cursor else "")
        body = ratings.get(url).get_json()
        seen += [item["movie_id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 5 and sorted(seen) == sorted(movies) and len(seen) == len(set(seen))
    whole = ratings.get(f"/ratings?order={order}&limit=100").get_json()
    assert [item["movie_id"] for item in whole["items"]] == seen
    assert whole["next_cursor"] is None


def test_a_cursor_only_fits_its_own_listing(ratings: FlaskClient, board: dict[str, int]) -> None:
    cursor = ratings.get("/ratings?limit=1").get_json()["next_cursor"]
    assert cursor
    assert_problem(ratings.get(f"/ratings?limit=1&order=count&cursor={cursor}"), 400)
    assert_problem(ratings.get("/ratings?cursor=not-a-cursor"), 400)
    for order, key in [
        ("bayesian", "abc"),
        ("count", "1.5"),
        ("recent", "yesterday"),
        ("average", "NaN"),
        ("bayesian", None),
        ("average", "1e999999"),
        ("count", "99999999999"),
    ]:
        # signed with the real key, so only the validation of each part can refuse them
        listing = leaderboard_listing(LeaderboardQuery(order=order))
        forged = pagination.encode(pagination.Position(key, 1), listing)  # type: ignore[arg-type]
        assert_problem(ratings.get(f"/ratings?order={order}&cursor={forged}"), 400)
    assert ratings.get(f"/ratings?limit=2&cursor={cursor}").status_code == 200


def test_bad_queries_are_422(ratings: FlaskClient) -> None:
    for name, value in [
        ("order", "best"),
        ("limit", "0"),
        ("limit", "101"),
        ("limit", "x"),
        ("min_reviews", "-1"),
        ("year", "0"),
        ("year", "10000"),
        ("genre", "x" * 51),
        ("sort", "count"),
        ("cursor", ""),
    ]:
        assert_problem(ratings.get(f"/ratings?{name}={value}"), 422, f"query.{name}")


def _relations(plan: dict[str, Any]) -> list[tuple[str, str | None, str | None]]:
    """(node type, relation, index) of every node of an EXPLAIN (FORMAT JSON) plan."""
    rows = [(plan["Node Type"], plan.get("Relation Name"), plan.get("Index Name"))]
    for child in plan.get("Plans", []):
        rows += _relations(child)
    return rows


def _explain(query: LeaderboardQuery) -> list[tuple[str, str | None, str | None]]:
    sql, params = pagination.page_query(leaderboard_listing(query), query.limit, query.cursor)
    with db.transaction() as conn:
        raw = conn.execute(sa.text(f"EXPLAIN (FORMAT JSON) {sql}"), params).scalar_one()
    plan = raw if isinstance(raw, list) else json.loads(raw)
    return _relations(plan[0]["Plan"])


def test_the_leaderboard_reads_only_aggregates_through_its_order_index(
    ratings: FlaskClient,
) -> None:
    with db.transaction() as conn:
        conn.exec_driver_sql(
            "INSERT INTO movies (title, genre) SELECT 'm' || i,"
            " (ARRAY['드라마', '액션', '코미디'])[1 + i % 3]"
            " FROM generate_series(1, 3000) i"
        )
        conn.exec_driver_sql(
            "INSERT INTO reviews (movie_id, author, content, label, positivity, confidence,"
            " rating, model_version) SELECT id, 'a', 'c', 'positive', 0.5, 0.5,"
            " 1 + (id * 7 % 10), 'v' FROM movies, generate_series(1, 3)"
        )
    with db.transaction() as conn:  # after the commit that moved the aggregates
        conn.exec_driver_sql("ANALYZE movies; ANALYZE movie_ratings")
    for order in ORDERS:
        assert_index_only_plan(ratings, order)


def assert_index_only_plan(ratings: FlaskClient, order: str) -> None:
    first = ratings.get(f"/ratings?order={order}&limit=20").get_json()
    queries = [
        LeaderboardQuery(order=order),
        LeaderboardQuery(order=order, cursor=first["next_cursor"]),
        LeaderboardQuery(order=order, genre="액션", min_reviews=2),
    ]
    for query in queries:
        nodes = _explain(query)
        assert all(relation != "reviews" for _, relation, _ in nodes), nodes
        assert ("Seq Scan", "movie_ratings", None) not in nodes, nodes
        assert not any(node == "Sort" for node, _, _ in nodes), nodes
        assert any(index == f"movie_ratings_{order}_idx" for _, _, index in nodes), nodes
