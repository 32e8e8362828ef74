"""The reviews HTTP contract, scored by the committed model, through functions-framework."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from shared import db
from shared.sentiment import Scored
from shared.settings import get_settings
from tests.functions.test_movies import assert_problem
from tests.support import function_client

POSITIVE = "정말 재미있고 감동적인 최고의 영화였어요. 배우들 연기도 완벽하고 또 보고 싶네요"
NEGATIVE = "시간 아깝다. 스토리도 엉망이고 연기도 최악인 쓰레기 영화"


def post(
    reviews: FlaskClient,
    auth: dict[str, str],
    movie_id: int,
    content: str = POSITIVE,
    author: str = "관객",
    **headers: str,
) -> TestResponse:
    return reviews.post(
        "/reviews",
        json={"movie_id": movie_id, "author": author, "content": content},
        headers={**auth, **headers},
    )


def aggregate(movie_id: int) -> sa.Row[Any]:
    with db.transaction() as conn:
        return conn.execute(
            sa.text(
                "SELECT review_count, positive_count, negative_count, neutral_count"
                " FROM movie_ratings WHERE movie_id = :m"
            ),
            {"m": movie_id},
        ).one()


def row_count(movie_id: int) -> int:
    with db.transaction() as conn:
        return int(
            conn.execute(
                sa.text("SELECT count(*) FROM reviews WHERE movie_id = :m"), {"m": movie_id}
            ).scalar_one()
        )


def test_create_scores_and_stores(
    reviews: FlaskClient, auth: dict[str, str], movie_id: int
) -> None:
    response = post(reviews, auth, movie_id)
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert response.headers["Location"] == f"/reviews/{body['id']}"
    sentiment = body["sentiment"]
    assert sentiment["label"] == "positive"
    assert 0.5 < sentiment["positivity"] <= 1
    assert 0 <= sentiment["confidence"] <= 1
    assert 1 <= sentiment["rating"] <= 10
    assert sentiment["model_version"] == get_settings_model_version()
    assert reviews.get(f"/reviews/{body['id']}").get_json() == body
    assert aggregate(movie_id).review_count == 1


def get_settings_model_version() -> str:
    from shared.sentiment import get_scorer

    return get_scorer().version


@pytest.mark.parametrize(
    ("text", "label"),
    [
        (POSITIVE, "positive"),
        ("인생 영화. 몇 번을 봐도 눈물이 나요 강력 추천합니다", "positive"),
        (NEGATIVE, "negative"),
        ("돈 아깝고 지루해서 중간에 나왔다. 최악", "negative"),
    ],
)
def test_korean_reviews_get_the_expected_label(
    reviews: FlaskClient, auth: dict[str, str], movie_id: int, text: str, label: str
) -> None:
    assert post(reviews, auth, movie_id, text).get_json()["sentiment"]["label"] == label


def test_unknown_movie_is_404_and_nothing_is_written(
    reviews: FlaskClient, auth: dict[str, str], movie_id: int
) -> None:
    assert_problem(post(reviews, auth, movie_id + 1000), 404)
    assert row_count(movie_id + 1000) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"author": ""}, "author"),
        ({"author": "a" * 51}, "author"),
        ({"author": "a\nb"}, "author"),
        ({"content": ""}, "content"),
        ({"content": "   \n "}, "content"),
        ({"content": "가" * 2001}, "content"),
        ({"content": "null\u0000byte"}, "content"),
        ({"content": "escape\u001b[31m"}, "content"),
        ({"content": 5}, "content"),
        ({"movie_id": 0}, "movie_id"),
        ({"movie_id": "abc"}, "movie_id"),
        ({"sentiment": {"label": "positive"}}, "sentiment"),
        ({"label": "positive"}, "label"),
    ],
)
def test_invalid_reviews_are_422(
    reviews: FlaskClient, auth: dict[str, str], movie_id: int, body: dict[str, Any], field: str
) -> None:
    payload = {"movie_id": movie_id, "author": "관객", "content": "좋아요", **body}
    assert_problem(reviews.post("/reviews", json=payload, headers=auth), 422, field)
    assert row_count(movie_id) == 0


def test_content_is_trimmed_and_2000_characters_fit(
    reviews: FlaskClient, auth: dict[str, str], movie_id: int
) -> None:
    body = post(reviews, auth, movie_id, " " + "가" * 1997 + "\n ").get_json()
    assert body["content"] == "가" * 1997
    assert post(reviews, auth, movie_id, "가" * 2000).status_code == 201


def test_lengths_count_the_text_as_sent(
    reviews: FlaskClient, auth: dict[str, str], movie_id: int
) -> None:
    """The published maxLength is the rule: surrounding spaces count too."""
    assert_problem(post(reviews, auth, movie_id, "가" * 1999 + "  "), 422, "content")
    assert_problem(post(reviews, auth, movie_id, author=" " * 45 + "a" * 6), 422, "author")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("movie_id", True),
        ("movie_id", "MOVIE"),
        ("movie_id", 1.5),
        ("author", 5),
        ("content", None),
    ],
)
def test_no_type_is_coerced(
    reviews: FlaskClient, auth: dict[str, str], movie_id: int, field: str, value: object
) -> None:
    body = {"movie_id": movie_id, "author": "관객", "content": "좋아요", field: value}
    if value == "MOVIE":
        body[field] = str(movie_id)
    elif value == 1.5:
        body[field] = movie_id + 0.5
    assert_problem(reviews.post("/reviews", json=body, headers=auth), 422, field)
    assert row_count(movie_id) == 0


def test_an_integral_number_is_the_integer_json_schema_says_it_is(
    reviews: FlaskClient, auth: dict[str, str], movie_id: int
) -> None:
    body = {"movie_id": float(movie_id), "author": "관객", "content": "좋아요"}
    response = reviews.post("/reviews", json=body, headers=auth)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["movie_id"] == movie_id


def test_duplicate_keys_are_400(reviews: FlaskClient, auth: dict[str, str], movie_id: int) -> None:
    raw = f'{{"movie_id": {movie_id}, "author": "a", "author": "b", "content": "좋아요"}}'
    response = reviews.post(
        "/reviews", data=raw.encode(), content_type="application/json", headers=auth
    )
    assert_problem(response, 400)
    assert row_count(movie_id) == 0


def test_writes_need_a_key(reviews: FlaskClient, movie_id: int) -> None:
    assert_problem(post(reviews, {}, movie_id), 401)
    assert_problem(post(reviews, {"X-API-Key": "wrong"}, movie_id), 403)


def test_malformed_and_wrong_type_bodies(reviews: FlaskClient, auth: dict[str, str]) -> None:
    assert_problem(
        reviews.post("/reviews", data=b"{", content_type="application/json", headers=auth), 400
    )
    assert_problem(
        reviews.post("/reviews", data=b"x", content_type="text/plain", headers=auth), 415
    )


# --- stored byte for byte ---------------------------------------------------------------------

# strings PostgreSQL's array syntax would read as NULL, or split, if they went unquoted
ARRAY_HOSTILE = ["null", "NULL", " Null ", "a,b", '"quoted"', "back\\slash", "{braces}", "NULL "]


@pytest.mark.parametrize("author", ARRAY_HOSTILE)
def test_any_author_is_stored_byte_for_byte(
    reviews: FlaskClient, auth: dict[str, str], movie_id: int, author: str
) -> None:
    response = post(reviews, auth, movie_id, author=author)
    assert response.status_code == 201, response.get_data(as_text=True)
    stored = reviews.get(f"/reviews/{response.get_json()['id']}").get_json()
    assert stored["author"] == author.strip()


def test_a_batch_stores_every_value_byte_for_byte(
    reviews: FlaskClient, auth: dict[str, str], movie_id: int
) -> None:
    items = [{"movie_id": movie_id, "author": a, "content": f"{a} 좋아요"} for a in ARRAY_HOSTILE]
    response = reviews.post("/reviews:batch", json={"items": items}, headers=auth)
    assert response.status_code == 201, response.get_data(as_text=True)
    created = response.get_json()["items"]
    assert [r["author"] for r in created] == [a.strip() for a in ARRAY_HOSTILE]
    assert [r["content"] for r in created] == [f"{a} 좋아요".strip() for a in ARRAY_HOSTILE]


# --- idempotency ------------------------------------------------------------------------------


def test_idempotency_key_replays_the_same_response(
    reviews: FlaskClient, auth: dict[str, str], movie_id: int
) -> None:
    first = post(reviews, auth, movie_id, **{"Idempotency-Key": "abc-1"})
    again = post(reviews, auth, movie_id, **{"Idempotency-Key": "abc-1"})
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert row_count(movie_id) == 1
    assert aggregate(movie_id).review_count == 1


def test_a_replay_is_identical_in_status_body_and_location(
    reviews: FlaskClient, auth: dict[str, str], movie_id: int
) -> None:
    first = post(reviews, auth, movie_id, **{"Idempotency-Key": "same-1"})
    again = post(reviews, auth, movie_id, **{"Idempotency-Key": "same-1"})
    assert (again.status_code, again.get_data()) == (first.status_code, first.get_data())
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Content-Type"] == first.headers["Content-Type"]


def test_a_replayed_batch_of_one_keeps_the_batch_shape(
    reviews: FlaskClient, auth: dict[str, str], movie_id: int
) -> None:
    items = [{"movie_id": movie_id, "author": "a", "content": POSITIVE}]
    key = {"Idempotency-Key": "batch-of-one"}
    first = reviews.post("/reviews:batch", json={"items": items}, headers={**auth, **key})
    again = reviews.post("/reviews:batch", json={"items": items}, headers={**auth, **key})
    assert first.status_code == again.status_code == 201
    assert again.get_data() == first.get_data()
    assert list(again.get_json()) == ["items"]
    assert row_count(movie_id) == 1


def test_a_replay_after_the_review_was_deleted_returns_the_stored_response_and_creates_nothing(
    reviews: FlaskClient, auth: dict[str, str], movie_id: int
) -> None:
    """The contract (README): a key stands for the first request's outcome, not for the
    resource's state now (the IETF draft's semantics)."""
    first = post(reviews, auth, movie_id, **{"Idempotency-Key": "then-deleted"})
    location = first.headers["Location"]
    assert reviews.delete(location, headers=auth).status_code == 204
    again = post(reviews, auth, movie_id, **{"Idempotency-Key": "then-deleted"})
    assert (again.status_code, again.get_data()) == (201, first.get_data())
    assert again.headers["Location"] == location
    assert again.headers["Idempotent-Replayed"] == "true"
    assert reviews.get(location).status_code == 404  # what the replay names is gone
    assert row_count(movie_id) == 0 and aggregate(movie_id).review_count == 0
    fresh = post(reviews, auth, movie_id, **{"Idempotency-Key": "a-new-key"})
    assert fresh.status_code == 201 and fresh.headers["Location"] != location


def test_idempotency_key_with_another_body_is_409(
    reviews: FlaskClient, auth: dict[str, str], movie_id: int
) -> None:
    post(reviews, auth, movie_id, **{"Idempotency-Key": "abc-2"})
    assert_problem(post(reviews, auth, movie_id, NEGATIVE, **{"Idempotency-Key": "abc-2"}), 409)
    assert row_count(movie_id) == 1


def test_a_key_past_its_ttl_is_a_new_request(
    reviews: FlaskClient, auth: dict[str, str], movie_id: int
) -> None:
    first = post(reviews, auth, movie_id, **{"Idempotency-Key": "old-key"})
    with db.transaction() as conn:
        conn.execute(
            sa.text(
                "UPDATE idempotency_keys SET created_at = now() - interval '25 hours'"
                " WHERE key = 'old-key'"
            )
        )
    again = post(reviews, auth, movie_id, NEGATIVE, **{"Idempotency-Key": "old-key"})
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert again.headers["Location"] != first.headers["Location"]
    replay = post(reviews, auth, movie_id, NEGATIVE, **{"Idempotency-Key": "old-key"})
    assert (replay.get_data(), replay.headers["Idempotent-Replayed"]) == (again.get_data(), "true")
    assert row_count(movie_id) == 2


def test_a_key_whose_request_failed_is_not_spent(
    reviews: FlaskClient, auth: dict[str, str], movie_id: int
) -> None:
    """A refused write remembers nothing: the key's next request is a first request."""
    assert_problem(post(reviews, auth, movie_id + 1000, **{"Idempotency-Key": "k-404"}), 404)
    created = post(reviews, auth, movie_id, **{"Idempotency-Key": "k-404"})
    assert created.status_code == 201 and "Idempotent-Replayed" not in created.headers
    assert row_count(movie_id) == 1


def test_concurrent_retries_with_one_key_write_one_row(
    auth: dict[str, str], movie_id: int, database: str
) -> None:
    statuses = []

    # eight instances, built one by one (loading a function's source is not thread-safe)
    clients = [function_client("reviews") for _ in range(8)]

    def retry(client: FlaskClient) -> None:
        statuses.append(post(client, auth, movie_id, **{"Idempotency-Key": "race"}).status_code)

    threads = [threading.Thread(target=retry, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [201] * 8
    assert row_count(movie_id) == 1


def test_bad_idempotency_key_is_400(
    reviews: FlaskClient, auth: dict[str, str], movie_id: int
) -> None:
    assert_problem(post(reviews, auth, movie_id, **{"Idempotency-Key": "has space"}), 400)


# --- batch ------------------------------------------------------------------------------------


def test_batch_is_scored_and_stored_together(
    reviews: FlaskClient, auth: dict[str, str], movie_id: int
) -> None:
    items = [
        {"movie_id": movie_id, "author": f"a{i}", "content": text}
        for i, text in enumerate([POSITIVE, NEGATIVE, POSITIVE])
    ]
    response = reviews.post("/reviews:batch", json={"items": items}, headers=auth)
    assert response.status_code == 201, response.get_data(as_text=True)
    created = response.get_json()["items"]
    assert [r["author"] for r in created] == ["a0", "a1", "a2"]
    assert [r["sentiment"]["label"] for r in created] == ["positive", "negative", "positive"]
    counts = aggregate(movie_id)
    assert (counts.review_count, counts.positive_count, counts.negative_count) == (3, 2, 1)


def test_batch_is_all_or_nothing(reviews: FlaskClient, auth: dict[str, str], movie_id: int) -> None:
    items = [
        {"movie_id": movie_id, "author": "a", "content": POSITIVE},
        {"movie_id": movie_id + 99, "author": "b", "content": NEGATIVE},
    ]
    assert_problem(reviews.post("/reviews:batch", json={"items": items}, headers=auth), 404)
    bad = [
        {"movie_id": movie_id, "author": "a", "content": POSITIVE},
        {"movie_id": movie_id, "author": "", "content": NEGATIVE},
    ]
    assert_problem(
        reviews.post("/reviews:batch", json={"items": bad}, headers=auth), 422, "items.1.author"
    )
    assert row_count(movie_id) == 0 and aggregate(movie_id).review_count == 0


@pytest.mark.parametrize("size", [0, 101])
def test_batch_size_is_bounded(
    reviews: FlaskClient, auth: dict[str, str], movie_id: int, size: int
) -> None:
    items = [{"movie_id": movie_id, "author": "a", "content": "좋다"}] * size
    assert_problem(reviews.post("/reviews:batch", json={"items": items}, headers=auth), 422)


# --- read, edit, delete -----------------------------------------------------------------------


def test_list_filters_and_pages_newest_first(
    reviews: FlaskClient, auth: dict[str, str], movies: FlaskClient, movie_id: int
) -> None:
    other = movies.post("/movies", json={"title": "다른 영화"}, headers=auth).get_json()["id"]
    mine = [
        post(reviews, auth, movie_id, text, author=f"u{i % 2}").get_json()["id"]
        for i, text in enumerate([POSITIVE, NEGATIVE, POSITIVE, NEGATIVE, POSITIVE])
    ]
    post(reviews, auth, other)

    def ids(**query: str | int) -> list[int]:
        response = reviews.get("/reviews", query_string=query)
        assert response.status_code == 200, response.get_data(as_text=True)
        return [r["id"] for r in response.get_json()["items"]]

    assert ids(movie_id=movie_id) == mine[::-1]
    assert ids(movie_id=movie_id, label="negative") == [mine[3], mine[1]]
    assert ids(movie_id=movie_id, author="u1") == [mine[3], mine[1]]
    seen, cursor = [], None
    while True:
        query = {"movie_id": movie_id, "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = reviews.get("/reviews", query_string=query).get_json()
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == mine[::-1]
    assert_problem(reviews.get("/reviews", query_string={"label": "great"}), 422)


def test_list_filters_by_model_version(
    reviews: FlaskClient, auth: dict[str, str], movie_id: int
) -> None:
    mine = [post(reviews, auth, movie_id, text).get_json()["id"] for text in (POSITIVE, NEGATIVE)]

    def ids(version: str) -> list[int]:
        response = reviews.get("/reviews", query_string={"model_version": version})
        assert response.status_code == 200, response.get_data(as_text=True)
        return [r["id"] for r in response.get_json()["items"]]

    assert ids(get_settings_model_version()) == mine[::-1]
    assert ids("some-other-version") == []
    for bad in ("", "a/b", "x" * 101):
        assert_problem(reviews.get("/reviews", query_string={"model_version": bad}), 422)


def test_patch_content_is_rescored_and_moves_the_aggregate(
    reviews: FlaskClient, auth: dict[str, str], movie_id: int
) -> None:
    review = post(reviews, auth, movie_id, POSITIVE).get_json()
    response = reviews.patch(f"/reviews/{review['id']}", json={"content": NEGATIVE}, headers=auth)
    assert response.status_code == 200
    body = response.get_json()
    assert body["sentiment"]["label"] == "negative"
    assert body["updated_at"] > review["updated_at"]
    counts = aggregate(movie_id)
    assert (counts.review_count, counts.positive_count, counts.negative_count) == (1, 0, 1)


def test_patch_author_keeps_the_score(
    reviews: FlaskClient, auth: dict[str, str], movie_id: int
) -> None:
    review = post(reviews, auth, movie_id).get_json()
    body = reviews.patch(
        f"/reviews/{review['id']}", json={"author": "새 이름"}, headers=auth
    ).get_json()
    assert body["author"] == "새 이름"
    assert body["sentiment"] == review["sentiment"]


def test_patch_cannot_move_a_review_or_set_its_score(
    reviews: FlaskClient, auth: dict[str, str], movie_id: int
) -> None:
    review = post(reviews, auth, movie_id).get_json()
    url = f"/reviews/{review['id']}"
    assert_problem(reviews.patch(url, json={"movie_id": movie_id}, headers=auth), 422)
    assert_problem(reviews.patch(url, json={"label": "negative"}, headers=auth), 422)
    assert_problem(reviews.patch(url, json={"content": None}, headers=auth), 422)


def test_delete_removes_the_review_and_its_share_of_the_aggregate(
    reviews: FlaskClient, auth: dict[str, str], movie_id: int
) -> None:
    review = post(reviews, auth, movie_id).get_json()
    post(reviews, auth, movie_id, NEGATIVE)
    assert reviews.delete(f"/reviews/{review['id']}", headers=auth).status_code == 204
    assert_problem(reviews.get(f"/reviews/{review['id']}"), 404)
    assert_problem(reviews.delete(f"/reviews/{review['id']}", headers=auth), 404)
    assert aggregate(movie_id).review_count == 1


# --- previews and model outages ---------------------------------------------------------------


def test_sentiment_preview_scores_without_storing(
    reviews: FlaskClient, auth: dict[str, str], movie_id: int
) -> None:
    one = reviews.post("/sentiment", json={"text": POSITIVE})
    assert one.status_code == 200
    assert one.get_json()["items"][0]["label"] == "positive"
    texts = {"texts": [POSITIVE, NEGATIVE]}
    many = reviews.post("/sentiment:batch", json=texts, headers=auth).get_json()
    assert [s["label"] for s in many["items"]] == ["positive", "negative"]
    assert row_count(movie_id) == 0


@pytest.mark.parametrize(
    "body",
    [{}, {"text": "a", "texts": ["b"]}, {"texts": ["b"]}, {"text": ""}, {"text": "x" * 2001}],
)
def test_sentiment_preview_validation(reviews: FlaskClient, body: dict[str, Any]) -> None:
    assert_problem(reviews.post("/sentiment", json=body), 422)


@pytest.mark.parametrize("body", [{}, {"texts": []}, {"texts": ["x"] * 101}, {"text": "a"}])
def test_sentiment_batch_validation(
    reviews: FlaskClient, auth: dict[str, str], body: dict[str, Any]
) -> None:
    assert_problem(reviews.post("/sentiment:batch", json=body, headers=auth), 422)


def test_scoring_many_texts_needs_a_key(reviews: FlaskClient) -> None:
    """The cost decision: only one text per anonymous request."""
    texts = {"texts": ["가" * 2000] * 100}
    assert_problem(reviews.post("/sentiment:batch", json=texts), 401)
    assert_problem(reviews.post("/sentiment", json=texts), 422)


def test_previews_beyond_the_instance_limit_are_429_at_once(
    reviews: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cost decision: a bounded number of anonymous previews score at once per instance."""
    import shared.previews

    monkeypatch.setenv("SENTIMENT_PREVIEW_CONCURRENCY", "1")
    get_settings.cache_clear()
    shared.previews.reset()
    entered, release = threading.Event(), threading.Event()
    real_score = shared.reviews.score

    def slow_score(texts: Sequence[str]) -> list[Scored]:
        entered.set()
        release.wait(10)
        return real_score(texts)

    monkeypatch.setattr(shared.reviews, "score", slow_score)
    first: list[int] = []
    busy = threading.Thread(
        target=lambda: first.append(reviews.post("/sentiment", json={"text": "좋다"}).status_code)
    )
    other = function_client("reviews")
    busy.start()
    try:
        assert entered.wait(10)
        response = other.post("/sentiment", json={"text": "좋다"})
        assert_problem(response, 429)
        assert int(response.headers["Retry-After"]) >= 1
    finally:
        release.set()
        busy.join()
    assert first == [200]
    assert other.post("/sentiment", json={"text": "좋다"}).status_code == 200
    shared.previews.reset()


def test_missing_model_gives_503_and_reads_keep_working(
    reviews: FlaskClient, auth: dict[str, str], movie_id: int, request: pytest.FixtureRequest
) -> None:
    review = post(reviews, auth, movie_id).get_json()
    request.getfixturevalue("model_missing")
    for response in (
        post(reviews, auth, movie_id),
        reviews.post("/sentiment", json={"text": "좋아요"}),
    ):
        assert_problem(response, 503)
        assert int(response.headers["Retry-After"]) > 0
    assert reviews.get(f"/reviews/{review['id']}").status_code == 200
    assert reviews.get("/reviews").status_code == 200
    assert row_count(movie_id) == 1


def test_openapi_lists_the_reviews_operations(reviews: FlaskClient) -> None:
    doc = reviews.get("/openapi.json").get_json()
    paths = doc["paths"].keys()
    assert {"/reviews", "/reviews:batch", "/reviews/{review_id}", "/sentiment"} <= paths
    assert "409" in doc["paths"]["/reviews"]["post"]["responses"]
    assert "503" in doc["paths"]["/sentiment"]["post"]["responses"]
