"""Accounts in the console: sign-up, sign-in, sign-out, the session cookie, the account page
(rename, delete), my reviews, editing and deleting one's own reviews, and the limits on
password attempts. Real accounts on the Firebase Auth emulator; the session cookie's
signature, expiry and revocation in production mode (tests/support/google_edge.py)."""

from __future__ import annotations

from collections.abc import Iterator
from http.cookies import SimpleCookie
from typing import Any

import pytest
from flask.testing import FlaskClient

from infra.authemu import AuthEmulator, SeedAccount
from shared import identity
from shared.errors import NotFound
from shared.identity import accounts
from shared.settings import get_settings
from shared.web.session import COOKIE
from tests.conftest import fresh_instance
from tests.support import function_client
from tests.support.flaky import FlakyProxy
from tests.support.google_edge import PRODUCTION_PROJECT, ProductionTokens, SigningKey
from tests.support.identity import PASSWORD, Accounts, next_second, unsigned_token
from tests.support.web import (
    api_env,
    csrf,
    page,
    review_form,
    serve,
    session_cookie,
    sign_in,
    signed_in,
)

POSITIVE = "정말 재미있고 감동적인 최고의 영화였어요. 배우들 연기도 완벽하고 또 보고 싶네요"
NEGATIVE = "시간 아깝다. 스토리도 엉망이고 연기도 최악인 쓰레기 영화"


def set_cookie(response: Any, name: str = COOKIE) -> dict[str, Any]:
    """The attributes of the Set-Cookie header for `name` ({} if there is none)."""
    for header in response.headers.getlist("Set-Cookie"):
        parsed: SimpleCookie = SimpleCookie()
        parsed.load(header)
        if name in parsed:
            morsel = parsed[name]
            attributes = {k: v for k, v in morsel.items() if v}
            return {"value": morsel.value, **attributes, "raw": header}
    return {}


def sign_up(client: FlaskClient, **fields: str) -> Any:
    data = {
        "email": "new@example.com",
        "display_name": "새 관객",
        "password": "a-good-password",
        **fields,
        "csrf_token": csrf(client, "/signup"),
    }
    return client.post("/signup", data=data)


def attempt(client: FlaskClient, email: str, password: str, **extra: Any) -> Any:
    data = {"email": email, "password": password, "csrf_token": csrf(client)}
    return client.post("/login", data=data, **extra)


def account_name(client: FlaskClient) -> str:
    return page(client.get("/")).by_id("account-name").text


def movie(movies: FlaskClient, auth: dict[str, str]) -> int:
    response = movies.post("/movies", json={"title": "리뷰용 영화"}, headers=auth)
    return int(response.get_json()["id"])


def write_review(client: FlaskClient, movie_id: int, content: str) -> int:
    data = review_form(client, movie_id, content)
    response = client.post(f"/films/{movie_id}/reviews", data=data)
    assert response.status_code == 303, page(response).text
    return int(response.headers["Location"].rsplit("review-", 1)[1])


# --- sign-up ---------------------------------------------------------------------------


def test_sign_up_makes_the_account_and_signs_it_in(web: FlaskClient, users: Accounts) -> None:
    response = sign_up(web, next="/films")
    assert response.status_code == 303 and response.headers["Location"] == "/films"
    cookie = set_cookie(response)
    assert cookie["value"] and cookie["path"] == "/" and "domain" not in cookie
    assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Lax"
    assert int(cookie["max-age"]) == get_settings().session_cookie_max_age_seconds
    assert "환영합니다" in page(web.get("/")).one("p", class_="flash").text
    made = accounts.find_by_email("new@example.com")
    assert (made.display_name, made.role) == ("새 관객", "member")
    assert account_name(web) == "새 관객"


@pytest.mark.parametrize(
    ("fields", "status", "where", "message"),
    [
        ({"email": "member@example.com"}, 409, "_form", "이미 가입된 이메일"),
        ({"password": "12345"}, 422, "password", "6자 이상"),
        ({"email": "not-an-email"}, 422, "email", "올바른 이메일 주소가 아닙니다"),
        ({"display_name": "  "}, 422, "display_name", "보이는 글자"),
        ({"display_name": "가" * 51}, 422, "display_name", "너무 깁니다"),
        ({"display_name": "줄\n바꿈"}, 422, "display_name", "줄바꿈"),
    ],
)
def test_sign_up_says_what_is_wrong_and_makes_nothing(
    web: FlaskClient,
    users: Accounts,
    fields: dict[str, str],
    status: int,
    where: str,
    message: str,
) -> None:
    users.member()  # member@example.com exists
    response = sign_up(web, **fields)
    assert response.status_code == status
    doc = page(response)
    shown = doc.one("p", class_="form-error") if where == "_form" else doc.by_id(f"{where}-error")
    assert message in shown.text
    assert set_cookie(response) == {}
    assert doc.by_id("email").attrs["value"] == fields.get("email", "new@example.com")
    assert "a-good-password" not in response.get_data(as_text=True)  # never sent back
    if status == 422 and "email" not in fields:
        with pytest.raises(NotFound):
            accounts.find_by_email("new@example.com")


# --- sign-in -----------------------------------------------------------------------------


def test_sign_in_returns_to_where_the_visitor_was(web: FlaskClient, users: Accounts) -> None:
    member = users.member()
    response = attempt(web, member.email, member.password)
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert set_cookie(response)["secure"]
    assert account_name(web) == "관객"
    data = {"email": member.email, "password": member.password, "next": "/films?q=x"}
    again = web.post("/login", data={**data, "csrf_token": csrf(web)})
    assert again.headers["Location"] == "/films?q=x"


@pytest.mark.parametrize(
    "target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:x", ""]
)
def test_sign_in_never_sends_anyone_to_another_site(
    web: FlaskClient, users: Accounts, target: str
) -> None:
    member = users.member()
    data = {"email": member.email, "password": member.password, "next": target}
    response = web.post("/login", data={**data, "csrf_token": csrf(web)})
    assert response.headers["Location"] == "/"
    form = page(web.get("/login", query_string={"next": target}))
    assert form.one("input", name="next").attrs["value"] == "/"


@pytest.mark.parametrize("who", ["wrong password", "unknown email", "disabled"])
def test_refused_sign_ins_say_why_without_telling_who_exists(
    web: FlaskClient, users: Accounts, who: str
) -> None:
    member = users.member()
    email, password = {
        "wrong password": (member.email, "not-the-password"),
        "unknown email": ("nobody@example.com", PASSWORD),
        "disabled": (users.disabled().email, PASSWORD),
    }[who]
    response = attempt(web, email, password)
    assert response.status_code == 401
    doc = page(response)
    message = "정지된 계정" if who == "disabled" else "이메일 또는 비밀번호가 올바르지 않습니다"
    assert message in doc.one("p", class_="form-error").text
    assert doc.by_id("email").attrs["value"] == email
    assert set_cookie(response) == {} and session_cookie(web) is None


def test_signing_in_gives_the_browser_new_csrf_tokens(web: FlaskClient, users: Accounts) -> None:
    before = csrf(web)  # a token of this browser before anyone signed in
    sign_in(web, users.admin())
    stale = web.post("/films", data={"title": "x", "csrf_token": before})
    assert stale.status_code == 400  # a token planted before the sign-in is worthless after


# --- sign-out ----------------------------------------------------------------------------


def test_sign_out_ends_every_session_of_the_account(web: FlaskClient, users: Accounts) -> None:
    member = users.member()
    laptop, phone = signed_in(web, member), signed_in(web, member)
    copied = session_cookie(phone)
    next_second()  # revocation counts whole seconds
    token = page(laptop.get("/")).one("form", class_="inline").one("input").attrs["value"]
    response = laptop.post("/logout", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == "/"
    gone = set_cookie(response)
    assert gone["value"] == "" and gone["max-age"] == "0"
    assert session_cookie(laptop) is None
    assert "로그아웃했습니다" in page(laptop.get("/")).one("p", class_="flash").text
    # the phone's session was revoked with it: pages that check say so and drop the cookie
    answer = phone.get("/account")
    assert answer.status_code == 303 and answer.headers["Location"].startswith("/login")
    assert set_cookie(answer)["max-age"] == "0"
    assert copied and session_cookie(phone) is None


# --- the session cookie in production mode --------------------------------------------------


@pytest.fixture
def production_web(
    database: str,
    live_apis: dict[str, str],
    production_tokens: ProductionTokens,
    monkeypatch: pytest.MonkeyPatch,
) -> FlaskClient:
    """The console as on Cloud Run (K_SERVICE set, a real project id, signed cookies)."""
    for name, value in api_env(live_apis).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("WEB_SECRET_KEY", "a-console-key-of-this-test-only")
    monkeypatch.setenv("FIREBASE_WEB_API_KEY", "test-web-api-key")
    fresh_instance()
    return function_client("web")


def with_cookie(client: FlaskClient, cookie: str) -> FlaskClient:
    client.set_cookie(COOKIE, cookie, domain="localhost", secure=True)
    return client


def test_a_signed_session_cookie_is_a_signed_in_user(
    production_web: FlaskClient, production_tokens: ProductionTokens
) -> None:
    uid = production_tokens.emulator.seed(
        SeedAccount("member@example.com", PASSWORD, "관객"), project=PRODUCTION_PROJECT
    )
    with_cookie(production_web, production_tokens.session_cookie(uid, name="관객"))
    assert account_name(production_web) == "관객"
    assert production_web.get("/account").status_code == 200  # revocation checked: fine


@pytest.mark.parametrize("forgery", ["expired", "another key", "unsigned admin", "ID token"])
def test_a_forged_or_expired_session_cookie_is_anonymous_and_dropped(
    production_web: FlaskClient, production_tokens: ProductionTokens, forgery: str
) -> None:
    uid = "u-forged"
    claims = production_tokens.claims(uid, "https://session.firebase.google.com/", role="admin")
    cookie = {
        "expired": lambda: production_tokens.session_cookie(
            uid, iat=claims["iat"] - 7200, exp=claims["iat"] - 3600, auth_time=claims["iat"] - 7200
        ),
        "another key": lambda: SigningKey.generate(production_tokens.key.key_id).sign(claims),
        "unsigned admin": lambda: unsigned_token(claims),
        "ID token": lambda: production_tokens.id_token(uid, role="admin"),  # not a session
    }[forgery]()
    with_cookie(production_web, cookie)
    response = production_web.get("/films")
    assert response.status_code == 200
    assert "로그인" in page(response).one("nav", **{"aria-label": "계정"}).text
    assert set_cookie(response)["max-age"] == "0"
    token = csrf(production_web)
    with_cookie(production_web, cookie)
    refused = production_web.post("/films", data={"title": "위조", "csrf_token": token})
    assert refused.status_code == 403


@pytest.mark.parametrize("state", ["revoked", "disabled", "deleted"])
def test_a_revoked_disabled_or_deleted_account_cannot_write(
    production_web: FlaskClient, production_tokens: ProductionTokens, state: str
) -> None:
    emulator: AuthEmulator = production_tokens.emulator
    uid = emulator.seed(
        SeedAccount("admin@example.com", PASSWORD, "관리자", role="admin"),
        project=PRODUCTION_PROJECT,
    )
    cookie = production_tokens.session_cookie(uid, role="admin", name="관리자")
    next_second()
    if state == "revoked":
        identity.revoke_sessions(uid)
    elif state == "disabled":
        emulator.disable(uid, project=PRODUCTION_PROJECT)
    else:
        accounts.delete_account(uid)
    with_cookie(production_web, cookie)
    assert account_name(production_web) == "관리자"  # reads do not look the account up
    token = csrf(production_web)
    refused = production_web.post("/films", data={"title": "x", "csrf_token": token})
    assert refused.status_code == 403 and "로그인이 필요합니다" in page(refused).text
    assert set_cookie(refused)["max-age"] == "0"
    with_cookie(production_web, cookie)
    assert production_web.get("/films/new").status_code == 303  # to the sign-in page


# --- the account page ------------------------------------------------------------------------


def test_the_account_page_shows_who_is_signed_in(web: FlaskClient, users: Accounts) -> None:
    admin = signed_in(web, users.admin())
    doc = page(admin.get("/account"))
    shown = [doc.by_id(f"account-{k}").text for k in ("email", "display-name", "role")]
    assert shown == ["admin@example.com", "관리자", "관리자"]
    assert page(signed_in(web, users.member()).get("/account")).by_id("account-role").text == "회원"


def rename(client: FlaskClient, name: str, password: str = PASSWORD) -> Any:
    data = {"display_name": name, "password": password, "csrf_token": csrf(client, "/account")}
    return client.post("/account/name", data=data)


def test_rename_reissues_the_session_with_the_new_name(web: FlaskClient, users: Accounts) -> None:
    member = users.member()
    client = signed_in(web, member)
    before = session_cookie(client)
    response = rename(client, "  새 이름  ")
    assert response.status_code == 303 and response.headers["Location"] == "/account"
    assert "새 이름" in page(client.get("/account")).one("p", class_="flash").text
    assert session_cookie(client) not in (None, before)  # a new session, made after the rename
    assert identity.verify_session_cookie(session_cookie(client) or "").display_name == "새 이름"
    assert account_name(client) == "새 이름"
    assert accounts.get_account(member.uid).display_name == "새 이름"


@pytest.mark.parametrize(
    ("name", "password", "status", "field", "message"),
    [
        ("새 이름", "wrong-password", 401, "rename_password", "비밀번호가 올바르지 않습니다"),
        ("   ", PASSWORD, 422, "display_name", "보이는 글자"),
        ("가" * 51, PASSWORD, 422, "display_name", "너무 깁니다"),
    ],
)
def test_rename_refused_changes_nothing(
    web: FlaskClient,
    users: Accounts,
    name: str,
    password: str,
    status: int,
    field: str,
    message: str,
) -> None:
    member = users.member()
    client = signed_in(web, member)
    before = session_cookie(client)
    response = rename(client, name, password)
    assert response.status_code == status
    assert message in page(response).by_id(f"{field}-error").text
    assert session_cookie(client) == before
    assert accounts.get_account(member.uid).display_name == "관객"


def test_reviews_written_after_a_rename_carry_the_new_name(
    web: FlaskClient, users: Accounts, movies: FlaskClient, auth: dict[str, str]
) -> None:
    client = signed_in(web, users.member())
    movie_id = movie(movies, auth)
    write_review(client, movie_id, POSITIVE)
    assert rename(client, "개명한 관객").status_code == 303
    write_review(client, movie_id, NEGATIVE)
    authors = [
        item.one("p", class_="meta").text.split(" ·")[0]
        for item in page(client.get(f"/films/{movie_id}")).find_all("li", class_="review")
    ]
    assert authors == ["개명한 관객", "관객"]  # the older review keeps the name it was written by


# --- my reviews, editing and deleting one's own --------------------------------------------


def test_my_reviews_lists_only_mine_newest_first_and_pages(
    web: FlaskClient, users: Accounts, movies: FlaskClient, auth: dict[str, str]
) -> None:
    mine, theirs = signed_in(web, users.member()), signed_in(web, users.second_member())
    first, second = movie(movies, auth), movie(movies, auth)
    written = [write_review(mine, first, POSITIVE), write_review(mine, second, NEGATIVE)]
    write_review(theirs, first, NEGATIVE)
    for _ in range(20):
        written.append(write_review(mine, second, POSITIVE))
    doc = page(mine.get("/account/reviews"))
    items = doc.by_id("my-reviews").find_all("li", class_="review")
    assert [item.attrs["id"] for item in items] == [f"review-{i}" for i in written[::-1][:20]]
    assert {item.one("p", class_="movie").text for item in items} == {"리뷰용 영화"}
    assert all(item.find_all("div", class_="review-actions") for item in items)
    rest = page(mine.get(doc.one("a", rel="next").attrs["href"]))
    ids = [i.attrs["id"] for i in rest.by_id("my-reviews").find_all("li", class_="review")]
    assert ids == [f"review-{i}" for i in written[1::-1]]
    empty = page(signed_in(web, users.admin()).get("/account/reviews"))
    assert "아직 쓴 리뷰가 없습니다" in empty.text


def edit(client: FlaskClient, movie_id: int, review_id: int, content: str) -> Any:
    path = f"/films/{movie_id}/reviews/{review_id}/edit"
    return client.post(path, data={"content": content, "csrf_token": csrf(client, "/")})


def delete(client: FlaskClient, movie_id: int, review_id: int, **extra: str) -> Any:
    path = f"/films/{movie_id}/reviews/{review_id}/delete"
    return client.post(path, data={"csrf_token": csrf(client, "/"), **extra})


def review_json(reviews: FlaskClient, review_id: int) -> Any:
    return reviews.get(f"/reviews/{review_id}").get_json()


def test_a_member_edits_their_review_and_it_is_scored_again(
    web: FlaskClient, users: Accounts, movies: FlaskClient, reviews: FlaskClient, auth: Any
) -> None:
    client = signed_in(web, users.member())
    movie_id = movie(movies, auth)
    review_id = write_review(client, movie_id, POSITIVE)
    form = page(client.get(f"/films/{movie_id}/reviews/{review_id}/edit"))
    assert form.by_id("content").text == POSITIVE
    response = edit(client, movie_id, review_id, NEGATIVE)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/films/{movie_id}#review-{review_id}"
    stored = review_json(reviews, review_id)
    assert (stored["content"], stored["sentiment"]["label"]) == (NEGATIVE, "negative")
    invalid = edit(client, movie_id, review_id, "  ")
    assert invalid.status_code == 422
    assert "비어 있을 수 없습니다" in page(invalid).by_id("content-error").text
    assert review_json(reviews, review_id)["content"] == NEGATIVE


def test_nobody_edits_another_members_review(
    web: FlaskClient, users: Accounts, movies: FlaskClient, reviews: FlaskClient, auth: Any
) -> None:
    movie_id = movie(movies, auth)
    review_id = write_review(signed_in(web, users.member()), movie_id, POSITIVE)
    before = review_json(reviews, review_id)
    for client in (signed_in(web, users.second_member()), signed_in(web, users.admin())):
        assert client.get(f"/films/{movie_id}/reviews/{review_id}/edit").status_code == 403
        assert edit(client, movie_id, review_id, NEGATIVE).status_code == 403
    assert delete(signed_in(web, users.second_member()), movie_id, review_id).status_code == 403
    anonymous = web.get(f"/films/{movie_id}/reviews/{review_id}/edit")
    assert anonymous.status_code == 303 and anonymous.headers["Location"].startswith("/login")
    assert review_json(reviews, review_id) == before
    other_movie = movie(movies, auth)  # the review under another movie's address: not found
    member = signed_in(web, users.member())
    assert member.get(f"/films/{other_movie}/reviews/{review_id}/edit").status_code == 404


def test_a_writer_or_an_admin_deletes_a_review_and_the_rating_follows(
    web: FlaskClient, users: Accounts, movies: FlaskClient, auth: Any, live_apis: Any
) -> None:
    import requests

    member = signed_in(web, users.member())
    movie_id = movie(movies, auth)
    own, other = write_review(member, movie_id, POSITIVE), write_review(member, movie_id, NEGATIVE)
    response = delete(member, movie_id, own, next="/account/reviews")
    assert response.status_code == 303 and response.headers["Location"] == "/account/reviews"
    admin = signed_in(web, users.admin())
    response = delete(admin, movie_id, other)
    assert response.headers["Location"] == f"/films/{movie_id}#reviews"
    rating = requests.get(f"{live_apis['ratings']}/ratings/{movie_id}", timeout=10).json()
    assert rating["review_count"] == 0
    assert delete(admin, movie_id, other).status_code == 404


# --- deleting the account ----------------------------------------------------------------------


def delete_account(client: FlaskClient, password: str = PASSWORD, confirm: str = "yes") -> Any:
    data = {"password": password, "confirm": confirm, "csrf_token": csrf(client, "/account")}
    return client.post("/account/delete", data=data)


def ratings_of(live_apis: dict[str, str], movie_id: int) -> int:
    import requests

    response = requests.get(f"{live_apis['ratings']}/ratings/{movie_id}", timeout=10)
    return int(response.json()["review_count"])


def test_deleting_the_account_deletes_its_reviews_then_the_account(
    web: FlaskClient, users: Accounts, movies: FlaskClient, auth: Any, live_apis: Any
) -> None:
    member, other = users.member(), users.second_member()
    client, others = signed_in(web, member), signed_in(web, other)
    movie_id = movie(movies, auth)
    write_review(client, movie_id, POSITIVE)
    write_review(client, movie_id, NEGATIVE)
    write_review(others, movie_id, POSITIVE)
    response = delete_account(client)
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert set_cookie(response)["max-age"] == "0"
    assert "삭제했습니다" in page(client.get("/")).one("p", class_="flash").text
    with pytest.raises(NotFound):
        accounts.get_account(member.uid)
    assert ratings_of(live_apis, movie_id) == 1  # the other member's review stays
    assert attempt(web, member.email, member.password).status_code == 401


@pytest.mark.parametrize(
    ("password", "confirm", "status", "field"),
    [("wrong-password", "yes", 401, "delete_password"), (PASSWORD, "", 422, "confirm")],
)
def test_account_deletion_refused_changes_nothing(
    web: FlaskClient,
    users: Accounts,
    movies: FlaskClient,
    auth: Any,
    live_apis: Any,
    password: str,
    confirm: str,
    status: int,
    field: str,
) -> None:
    member = users.member()
    client = signed_in(web, member)
    movie_id = movie(movies, auth)
    write_review(client, movie_id, POSITIVE)
    response = delete_account(client, password, confirm)
    assert response.status_code == status
    assert page(response).by_id(f"{field}-error").text
    assert accounts.get_account(member.uid).uid == member.uid
    assert ratings_of(live_apis, movie_id) == 1


@pytest.fixture
def flaky_identity(
    auth_emulator: AuthEmulator, users: Accounts, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FlakyProxy]:
    """Identity Platform (the emulator) behind a network that fails what a test says."""
    from tests.support.identity import reset_identity

    proxy = FlakyProxy(auth_emulator.url)
    with serve(proxy) as url:
        monkeypatch.setenv("FIREBASE_AUTH_EMULATOR_HOST", url.removeprefix("http://"))
        reset_identity()
        yield proxy
    reset_identity()


@pytest.mark.parametrize("failures", [1, 3])
def test_a_failure_between_reviews_and_account_is_retried_never_half_gone(
    web: FlaskClient,
    users: Accounts,
    flaky_identity: FlakyProxy,
    movies: FlaskClient,
    auth: Any,
    live_apis: Any,
    monkeypatch: pytest.MonkeyPatch,
    failures: int,
) -> None:
    """deletion.py's state machine: REVIEWS_GONE is retried at once (ATTEMPTS times); when it
    still fails, the user is told, and the same form finishes the job."""
    from shared.web import deletion

    monkeypatch.setattr(deletion, "FIRST_PAUSE_SECONDS", 0.01)
    member = users.member()
    client = signed_in(web, member)
    movie_id = movie(movies, auth)
    write_review(client, movie_id, POSITIVE)
    flaky_identity.fail("accounts:delete", failures)
    response = delete_account(client)
    assert flaky_identity.failed["accounts:delete"] == failures
    if failures < deletion.ATTEMPTS:  # retried at once, and done
        assert response.status_code == 303
    else:  # the reviews are gone, the account is not: said so, and the form retries
        assert response.status_code == 503 and response.headers["Retry-After"]
        assert "리뷰는 모두 삭제했지만" in page(response).by_id("delete_password-error").text
        assert accounts.get_account(member.uid).uid == member.uid
        assert ratings_of(live_apis, movie_id) == 0
        assert delete_account(client).status_code == 303
    with pytest.raises(NotFound):
        accounts.get_account(member.uid)
    assert ratings_of(live_apis, movie_id) == 0


# --- limits on password attempts -------------------------------------------------------------


def test_sign_in_attempts_are_limited_per_client(
    web: FlaskClient, users: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEB_SIGN_IN_RATE_LIMIT", "2/minute")
    get_settings.cache_clear()
    member = users.member()
    here, there = {"REMOTE_ADDR": "10.0.0.1"}, {"REMOTE_ADDR": "10.0.0.2"}
    assert attempt(web, member.email, "wrong", environ_base=here).status_code == 401
    assert attempt(web, member.email, "wrong", environ_base=here).status_code == 401
    refused = attempt(web, member.email, member.password, environ_base=here)
    assert refused.status_code == 429  # even the right password: this client is done for now
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert session_cookie(web) is None
    spoofed = attempt(web, member.email, member.password, environ_base=here,
                      headers={"X-Forwarded-For": "3.3.3.3"})  # fmt: skip
    assert spoofed.status_code == 429  # no trusted proxy: the header is the client's own text
    assert attempt(web, member.email, member.password, environ_base=there).status_code == 303


def test_behind_a_trusted_proxy_a_spoofed_forwarded_for_buys_nothing(
    web: FlaskClient, users: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEB_SIGN_IN_RATE_LIMIT", "1/minute")
    monkeypatch.setenv("WEB_TRUSTED_PROXY_HOPS", "1")
    get_settings.cache_clear()
    member = users.member()

    def from_(forwarded: str) -> int:
        headers = {"X-Forwarded-For": forwarded}
        return int(attempt(web, member.email, "wrong", headers=headers).status_code)

    assert from_("1.1.1.1") == 401
    assert from_("9.9.9.9, 1.1.1.1") == 429  # a left entry is the client's own text
    assert from_("1.1.1.1, 1.1.1.1") == 429
    assert from_("2.2.2.2") == 401  # another client behind the same front end


def test_sign_ups_are_limited_per_client(
    web: FlaskClient, users: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEB_SIGN_UP_RATE_LIMIT", "1/hour")
    get_settings.cache_clear()
    assert sign_up(web, email="one@example.com").status_code == 303
    refused = sign_up(web.application.test_client(), email="two@example.com")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 60
    with pytest.raises(NotFound):
        accounts.find_by_email("two@example.com")


def test_password_checks_of_the_account_page_count_as_sign_in_attempts(
    web: FlaskClient, users: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEB_SIGN_IN_RATE_LIMIT", "2/minute")
    get_settings.cache_clear()
    client = signed_in(web.application.test_client(), users.member())  # one attempt used
    assert rename(client, "이름", "wrong").status_code == 401
    assert rename(client, "이름").status_code == 429  # a stolen session cannot guess passwords
    assert accounts.get_account(users.member().uid).display_name == "관객"
