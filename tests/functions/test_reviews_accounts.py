"""Reviews written by accounts (the Auth emulator's real accounts, verified by firebase-admin):
who the author is, who owns a review, the caller's own reviews, the per-account write limit,
and how each credential is told apart. Which route refuses which caller is
tests/functions/test_authz_api.py's table; this is what an allowed write does."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from shared import identity
from tests.conftest import fresh_instance
from tests.functions.test_movies import assert_problem
from tests.functions.test_reviews import NEGATIVE, POSITIVE, aggregate, row_count
from tests.support.identity import Accounts, TestUser

pytestmark = pytest.mark.usefixtures("users")


def write(
    reviews: FlaskClient,
    headers: dict[str, str],
    movie_id: int,
    content: str = POSITIVE,
    **body: Any,
) -> TestResponse:
    return reviews.post(
        "/reviews", json={"movie_id": movie_id, "content": content, **body}, headers=headers
    )


def written(reviews: FlaskClient, user: TestUser, movie_id: int, content: str = POSITIVE) -> Any:
    response = write(reviews, user.bearer, movie_id, content)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def test_an_account_writes_as_itself(reviews: FlaskClient, users: Accounts, movie_id: int) -> None:
    member = users.member()
    review = written(reviews, member, movie_id)
    assert (review["author"], review["user_id"]) == ("관객", member.uid)
    assert reviews.get(f"/reviews/{review['id']}").get_json() == review
    assert aggregate(movie_id).review_count == 1


def test_an_account_cannot_name_another_author(
    reviews: FlaskClient, users: Accounts, auth: dict[str, str], movie_id: int
) -> None:
    member = users.member()
    assert_problem(write(reviews, member.bearer, movie_id, author="관리자 (공식)"), 422, "author")
    items = [{"movie_id": movie_id, "content": POSITIVE, "author": "누군가"}]
    admin = users.admin().bearer
    assert_problem(reviews.post("/reviews:batch", json={"items": items}, headers=admin), 422)
    review = written(reviews, member, movie_id)
    patch = reviews.patch(f"/reviews/{review['id']}", json={"author": "x"}, headers=member.bearer)
    assert_problem(patch, 422, "author")
    # a service client still names the author, and must
    assert_problem(write(reviews, auth, movie_id), 422, "author")
    assert write(reviews, auth, movie_id, author="수입").get_json()["user_id"] is None
    assert row_count(movie_id) == 2


def test_the_author_is_the_email_name_without_a_display_name(
    reviews: FlaskClient, users: Accounts, movie_id: int
) -> None:
    nameless = users.create("no.name@example.com", "")
    assert written(reviews, nameless, movie_id)["author"] == "no.name"
    long_name = users.create("long@example.com", "긴 이름 " * 20)
    author = written(reviews, long_name, movie_id)["author"]
    assert author == ("긴 이름 " * 20)[:50].strip()  # the column's 50 characters, trimmed


def test_a_member_edits_and_deletes_only_their_own(
    reviews: FlaskClient, users: Accounts, movie_id: int
) -> None:
    member, other = users.member(), users.second_member()
    review = written(reviews, member, movie_id)
    url = f"/reviews/{review['id']}"
    assert_problem(reviews.patch(url, json={"content": NEGATIVE}, headers=other.bearer), 403)
    assert_problem(reviews.delete(url, headers=other.bearer), 403)
    edited = reviews.patch(url, json={"content": NEGATIVE}, headers=member.bearer)
    assert edited.status_code == 200 and edited.get_json()["sentiment"]["label"] == "negative"
    assert aggregate(movie_id).negative_count == 1
    assert reviews.delete(url, headers=member.bearer).status_code == 204
    assert row_count(movie_id) == 0


def test_an_admin_deletes_any_review_but_edits_only_their_own(
    reviews: FlaskClient, users: Accounts, auth: dict[str, str], movie_id: int
) -> None:
    admin = users.admin()
    members = written(reviews, users.member(), movie_id)["id"]
    imported = write(reviews, auth, movie_id, author="수입").get_json()["id"]
    assert_problem(
        reviews.patch(f"/reviews/{members}", json={"content": NEGATIVE}, headers=admin.bearer), 403
    )
    for review_id in (members, imported):
        assert reviews.delete(f"/reviews/{review_id}", headers=admin.bearer).status_code == 204
    own = written(reviews, admin, movie_id)
    assert own["author"] == "관리자"
    edit = reviews.patch(f"/reviews/{own['id']}", json={"content": NEGATIVE}, headers=admin.bearer)
    assert edit.status_code == 200


def test_a_service_client_edits_any_review(
    reviews: FlaskClient, users: Accounts, auth: dict[str, str], movie_id: int
) -> None:
    review = written(reviews, users.member(), movie_id)
    edited = reviews.patch(f"/reviews/{review['id']}", json={"author": "정정"}, headers=auth)
    assert edited.get_json()["author"] == "정정"
    assert edited.get_json()["user_id"] == review["user_id"]  # the writer stays the writer


def test_my_reviews_are_listed_and_deleted_together(
    reviews: FlaskClient, users: Accounts, auth: dict[str, str], movie_id: int
) -> None:
    member, other = users.member(), users.second_member()
    mine = [written(reviews, member, movie_id, f"{POSITIVE} {i}")["id"] for i in range(3)]
    theirs = written(reviews, other, movie_id)["id"]
    page = reviews.get("/reviews?mine=true&limit=2", headers=member.bearer).get_json()
    rest = reviews.get(
        f"/reviews?mine=true&limit=2&cursor={page['next_cursor']}", headers=member.bearer
    ).get_json()
    assert [r["id"] for r in page["items"] + rest["items"]] == mine[::-1]
    # the cursor belongs to this account's listing
    cursor = f"/reviews?mine=true&limit=2&cursor={page['next_cursor']}"
    assert_problem(reviews.get(cursor, headers=other.bearer), 400)
    assert_problem(reviews.get("/reviews?mine=true"), 401)
    assert_problem(reviews.get("/reviews?mine=true", headers=auth), 400)

    assert reviews.delete("/reviews/mine", headers=member.bearer).status_code == 204
    assert reviews.delete("/reviews/mine", headers=member.bearer).status_code == 204  # again
    assert reviews.get("/reviews?mine=true", headers=member.bearer).get_json()["items"] == []
    assert [r["id"] for r in reviews.get("/reviews").get_json()["items"]] == [theirs]
    assert aggregate(movie_id).review_count == 1
    assert_problem(reviews.delete("/reviews/mine", headers=auth), 400)


def test_the_console_session_cookie_is_a_bearer_token(
    reviews: FlaskClient, users: Accounts, movie_id: int
) -> None:
    member = users.member()
    cookie = identity.create_session_cookie(member.id_token)
    review = write(reviews, {"Authorization": f"Bearer {cookie}"}, movie_id).get_json()
    assert review["user_id"] == member.uid
    listed = reviews.get("/reviews?mine=true", headers={"Authorization": f"Bearer {cookie}"})
    assert [r["id"] for r in listed.get_json()["items"]] == [review["id"]]


def test_refusals_say_how_to_authenticate(
    reviews: FlaskClient, users: Accounts, auth: dict[str, str], movie_id: int
) -> None:
    missing = reviews.post("/reviews", json={})
    assert_problem(missing, 401)
    assert missing.headers["WWW-Authenticate"] == "Bearer, ApiKey"
    other_project = f"Bearer {users.other_project_token()}"
    for value in ("Bearer not-a-token", "Basic dXNlcjpwdw==", "Bearer ", other_project):
        refused = write(reviews, {"Authorization": value}, movie_id)
        assert_problem(refused, 401)
        assert refused.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    both = {**auth, **users.member().bearer}
    assert_problem(write(reviews, both, movie_id), 400)
    assert_problem(reviews.get("/reviews", headers=both), 400)
    # a public route does not look at a credential: a refused one reads as anonymous
    assert reviews.get("/reviews", headers={"Authorization": "Bearer junk"}).status_code == 200
    assert row_count(movie_id) == 0


def test_an_idempotency_key_is_its_callers_own(
    reviews: FlaskClient, users: Accounts, movie_id: int
) -> None:
    member, other = users.member(), users.second_member()
    key = {"Idempotency-Key": "same-key"}
    first = write(reviews, {**member.bearer, **key}, movie_id)
    replay = write(reviews, {**member.bearer, **key}, movie_id)
    assert replay.headers.get("Idempotent-Replayed") == "true" and replay.data == first.data
    assert_problem(write(reviews, {**other.bearer, **key}, movie_id), 409)
    assert row_count(movie_id) == 1


def test_writes_per_account_are_limited(
    reviews: FlaskClient, users: Accounts, movie_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("API_WRITE_RATE_LIMIT", "2/minute")
    fresh_instance()
    member, other = users.member(), users.second_member()
    for _ in range(2):
        written(reviews, member, movie_id)
    limited = write(reviews, member.bearer, movie_id)
    assert_problem(limited, 429)
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    written(reviews, other, movie_id)  # another account has its own budget
    assert row_count(movie_id) == 3
