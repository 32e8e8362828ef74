"""The web console through functions-framework's test client, calling the real APIs over HTTP.

Fast, HTML-level: every page and error path. The browser tests (test_web_browser.py) walk the
same pages in Chromium.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from shared.settings import get_settings
from shared.web import uploads as web_uploads
from tests.support import API_KEY
from tests.support.identity import Accounts
from tests.support.web import Node, csrf, page, review_form, session_cookie, signed_in

POSITIVE = "정말 재미있고 감동적인 최고의 영화였어요. 배우들 연기도 완벽하고 또 보고 싶네요"
NEGATIVE = "시간 아깝다. 스토리도 엉망이고 연기도 최악인 쓰레기 영화"
HOSTILE = '<script>alert("xss")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def admin(web: FlaskClient, users: Accounts) -> FlaskClient:
    """The console in an admin's browser."""
    return signed_in(web, users.admin())


@pytest.fixture
def member(web: FlaskClient, users: Accounts) -> FlaskClient:
    """The console in a member's browser."""
    return signed_in(web, users.member())


def api_movie(movies: FlaskClient, auth: dict[str, str], **fields: str) -> int:
    """A movie made by a service client (the API key), as an import would."""
    response = movies.post("/movies", json={"title": "기생충", **fields}, headers=auth)
    assert response.status_code == 201, response.get_json()
    return int(response.get_json()["id"])


def api_reviews(reviews: FlaskClient, auth: dict[str, str], movie_id: int, *texts: str) -> None:
    items = [{"movie_id": movie_id, "author": "관객", "content": text} for text in texts]
    response = reviews.post("/reviews:batch", json={"items": items}, headers=auth)
    assert response.status_code == 201, response.get_json()


def add_movie(web: Any, **fields: str) -> int:
    """A movie added through the console's form (by whoever `web` is signed in as)."""
    data = {"title": "기생충", **fields, "csrf_token": csrf(web, "/films/new")}
    response = web.post("/films", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)
    match = re.fullmatch(r"/films/(\d+)", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def write_review(web: Any, movie_id: int, content: str, **extra: str) -> Any:
    data = {**review_form(web, movie_id, content), **extra}
    return web.post(f"/films/{movie_id}/reviews", data=data)


def stat(doc: Node, name: str) -> str:
    return doc.by_id(f"stat-{name}").text


# --- security headers and markup ------------------------------------------------


def assert_strict_page(response: Any) -> None:
    """CSP without inline script, no framing; no inline script, handler or style in the HTML."""
    csp = response.headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in directives["script-src"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    doc = page(response)
    for node in doc.iter():
        if node.tag == "script":
            assert node.attrs.get("src") and not node.text, "inline script"
        assert not any(a.startswith("on") for a in node.attrs), f"inline handler on {node.tag}"
        if "unsafe-inline" not in directives.get("style-src", ""):
            assert "style" not in node.attrs, f"inline style on {node.tag}"
            assert node.tag != "style"
    assert API_KEY not in response.get_data(as_text=True)


ANONYMOUS_PAGES = ["/", "/films", "/docs", "/nope", "/login", "/signup"]
ADMIN_PAGES = ["/films/new", "/upload", "/account", "/account/reviews"]


@pytest.mark.parametrize("path", ANONYMOUS_PAGES)
def test_every_page_is_strict_and_korean(web: FlaskClient, path: str) -> None:
    response = web.get(path)
    assert response.status_code == (404 if path == "/nope" else 200)
    assert response.mimetype == "text/html"
    assert '<html lang="ko">' in response.get_data(as_text=True)
    assert_strict_page(response)


def test_signed_in_pages_are_strict_and_never_show_the_session(
    admin: FlaskClient, movies: FlaskClient, auth: dict[str, str]
) -> None:
    movie_id = api_movie(movies, auth, synopsis="줄거리")
    paths = [f"/films/{movie_id}", f"/films/{movie_id}/edit", f"/films/{movie_id}/delete"]
    cookie = session_cookie(admin)
    assert cookie
    for path in ADMIN_PAGES + paths:
        response = admin.get(path)
        assert response.status_code == 200, path
        assert_strict_page(response)
        assert cookie not in response.get_data(as_text=True), path  # HttpOnly means it


def test_assets_are_vendored_and_cached_by_content_hash(
    web: FlaskClient, movies: FlaskClient, auth: dict[str, str]
) -> None:
    doc = page(web.get(f"/films/{api_movie(movies, auth)}"))
    urls = [n.attr("href") for n in doc.find_all("link")] + [
        n.attr("src") for n in doc.find_all("script")
    ]
    assert any("htmx.min.js" in url for url in urls)
    for url in urls:
        assert url.startswith("/assets/") and "?v=" in url, url  # same origin, no CDN
        response = web.get(url)
        assert response.status_code == 200, url
        assert "max-age=31536000" in response.headers["Cache-Control"]


# --- controls follow the role ---------------------------------------------------------


def controls(client: FlaskClient, movie_id: int) -> dict[str, bool]:
    """Which write controls the movie page and the menus show this client."""
    doc = page(client.get(f"/films/{movie_id}"))
    menu = doc.one("nav", **{"aria-label": "주 메뉴"}).text
    listing = page(client.get("/films")).one("div", class_="heading").text
    return {
        "add movie": "영화 추가" in menu or "영화 추가" in listing,
        "upload": "파일 업로드" in menu,
        "edit or delete movie": bool(doc.find_all(id="movie-actions")),
        "write review": bool(doc.find_all("textarea", id="content")),
        "sign in to write": bool(doc.find_all(id="sign-in-to-write")),
        "review actions": bool(doc.find_all("div", class_="review-actions")),
    }


def test_anonymous_visitors_see_no_write_control(
    web: FlaskClient, movies: FlaskClient, reviews: FlaskClient, auth: dict[str, str]
) -> None:
    movie_id = api_movie(movies, auth)
    api_reviews(reviews, auth, movie_id, POSITIVE)
    assert controls(web, movie_id) == {
        "add movie": False,
        "upload": False,
        "edit or delete movie": False,
        "write review": False,
        "sign in to write": True,
        "review actions": False,
    }
    prompt = page(web.get(f"/films/{movie_id}")).by_id("sign-in-to-write")
    assert "로그인하고 리뷰 쓰기" in prompt.text
    link = prompt.one("a", class_="button").attrs["href"]
    assert link == f"/login?next=/films/{movie_id}%23write"
    account = page(web.get("/")).one("nav", **{"aria-label": "계정"}).text
    assert "로그인" in account and "회원 가입" in account and "로그아웃" not in account


def test_members_write_reviews_and_admins_see_every_control(
    member: FlaskClient,
    admin: FlaskClient,
    movies: FlaskClient,
    reviews: FlaskClient,
    auth: dict[str, str],
) -> None:
    movie_id = api_movie(movies, auth)
    api_reviews(reviews, auth, movie_id, POSITIVE)  # an import's review: nobody's own
    seen = controls(member, movie_id)
    assert seen == {
        "add movie": False,
        "upload": False,
        "edit or delete movie": False,
        "write review": True,
        "sign in to write": False,
        "review actions": False,  # another's review: no edit, no delete
    }
    assert "작성자: 관객" in page(member.get(f"/films/{movie_id}")).by_id("writer").text
    assert controls(admin, movie_id) == {
        "add movie": True,
        "upload": True,
        "edit or delete movie": True,
        "write review": True,
        "sign in to write": False,
        "review actions": True,  # moderation: delete any review (never edit another's)
    }
    actions = page(admin.get(f"/films/{movie_id}")).one("div", class_="review-actions")
    assert "삭제" in actions.text and "고치기" not in actions.text


def test_members_edit_and_delete_only_their_own_reviews(
    web: FlaskClient, users: Accounts, movies: FlaskClient, auth: dict[str, str]
) -> None:
    movie_id = api_movie(movies, auth)
    first, second = signed_in(web, users.member()), signed_in(web, users.second_member())
    assert write_review(first, movie_id, POSITIVE).status_code == 303
    assert write_review(second, movie_id, NEGATIVE).status_code == 303
    items = page(first.get(f"/films/{movie_id}")).find_all("li", class_="review")
    mine = {
        item.one("p", class_="content").text: bool(item.find_all("div", class_="review-actions"))
        for item in items
    }
    assert mine == {POSITIVE: True, NEGATIVE: False}
    own = next(i for i in items if i.one("p", class_="content").text == POSITIVE)
    assert own.one("p", class_="meta").text.startswith("관객 ·")  # the account's name


# --- forged writes change nothing ---------------------------------------------------------


def catalogue(movies: FlaskClient, reviews: FlaskClient) -> Any:
    """Everything a write could change, as the API reports it."""
    listed = movies.get("/movies?limit=100").get_json()["items"]
    return listed, reviews.get("/reviews?limit=100").get_json()["items"]


def forged_posts(movie_id: int, review_id: int) -> dict[str, dict[str, Any]]:
    """Writes a visitor might forge (with a valid CSRF token of their own session)."""
    return {
        "/films": {"title": "위조"},
        f"/films/{movie_id}/edit": {"title": "훼손"},
        f"/films/{movie_id}/delete": {},
        f"/films/{movie_id}/reviews/{review_id}/edit": {"content": NEGATIVE},
        f"/films/{movie_id}/reviews/{review_id}/delete": {},
        "/upload": {"file": (io.BytesIO(b'{"movie_id": 1}\n'), "x.jsonl")},
    }


@pytest.mark.parametrize("who", ["anonymous", "member"])
def test_a_forged_post_is_a_403_page_and_changes_nothing(
    web: FlaskClient,
    users: Accounts,
    movies: FlaskClient,
    reviews: FlaskClient,
    auth: dict[str, str],
    uploads_bucket: Any,
    who: str,
) -> None:
    client = web if who == "anonymous" else signed_in(web, users.member())
    movie_id = api_movie(movies, auth)
    api_reviews(reviews, auth, movie_id, POSITIVE)
    review_id = reviews.get("/reviews").get_json()["items"][0]["id"]
    before = catalogue(movies, reviews)
    token = csrf(client, "/login")
    for path, data in forged_posts(movie_id, review_id).items():
        response = client.post(path, data={**data, "csrf_token": token})
        assert response.status_code == 403, path
        text = page(response).text
        assert ("로그인이 필요합니다" if who == "anonymous" else "권한이 없습니다") in text, path
    if who == "anonymous":  # a member may write reviews; a visitor may not
        review = {"content": POSITIVE, "csrf_token": token}
        assert client.post(f"/films/{movie_id}/reviews", data=review).status_code == 403
    assert catalogue(movies, reviews) == before
    assert not list(uploads_bucket.list_blobs())


def test_pages_behind_a_sign_in_send_visitors_to_it_and_back(
    web: FlaskClient, users: Accounts
) -> None:
    response = web.get("/films/new?from=menu")
    assert response.status_code == 303
    assert response.headers["Location"] == "/login?next=/films/new?from%3Dmenu"
    form = page(web.get(response.headers["Location"]))
    assert form.one("input", name="next").attrs["value"] == "/films/new?from=menu"
    admin = users.admin()
    data = {"email": admin.email, "password": admin.password, "next": "/films/new?from=menu"}
    signed = web.post("/login", data={**data, "csrf_token": csrf(web)})
    assert signed.headers["Location"] == "/films/new?from=menu"
    assert web.get("/films/new").status_code == 200
    member = signed_in(web, users.member())
    refused = member.get("/films/new")
    assert refused.status_code == 403 and "권한이 없습니다" in page(refused).text


# --- home ----------------------------------------------------------------------------


def test_home_without_reviews_says_so(web: FlaskClient) -> None:
    response = web.get("/")
    assert response.status_code == 200
    text = page(response).text
    assert "평점 순위" in text and "아직 리뷰가" in text


def test_home_shows_the_leaderboard_and_recent_movies(
    web: FlaskClient, movies: FlaskClient, reviews: FlaskClient, auth: dict[str, str]
) -> None:
    liked, disliked = api_movie(movies, auth, title="명작"), api_movie(movies, auth, title="망작")
    few = api_movie(movies, auth, title="리뷰 적은 영화")
    api_reviews(reviews, auth, liked, *[POSITIVE] * 3)
    api_reviews(reviews, auth, disliked, *[NEGATIVE] * 3)
    api_reviews(reviews, auth, few, POSITIVE)
    doc = page(web.get("/"))
    rows = doc.one("table", class_="leaderboard").find_all("tr")[1:]
    titles = [row.find_all("a")[0].text for row in rows]
    assert titles == ["명작", "망작"]  # Bayesian order; under 3 reviews stays off the board
    recent = [a.text for a in doc.one("ul", class_="cards").find_all("a")]
    assert set(recent) == {"명작", "망작", "리뷰 적은 영화"}


# --- movies list ---------------------------------------------------------------------


def test_list_searches_filters_and_sorts(
    web: FlaskClient, movies: FlaskClient, auth: dict[str, str]
) -> None:
    api_movie(movies, auth, genre="드라마", director="봉준호", release_date="2019-05-30")
    api_movie(movies, auth, title="괴물", genre="SF", director="봉준호", release_date="2006-07-27")
    api_movie(
        movies, auth, title="올드보이", genre="스릴러", director="박찬욱", release_date="2003-11-21"
    )

    def titles(**query: str) -> list[str]:
        response = web.get("/films", query_string=query)
        assert response.status_code == 200
        return [a.text for a in page(response).find_all("a", class_="title")]

    assert titles() == ["올드보이", "괴물", "기생충"]  # newest first
    assert titles(q="기생") == ["기생충"]
    assert titles(director="봉준호", sort="release_date") == ["괴물", "기생충"]
    assert titles(genre="sf") == ["괴물"]
    assert titles(year="2003") == ["올드보이"]
    assert titles(sort="title") == sorted(["기생충", "괴물", "올드보이"])
    assert titles(q="없는 영화") == []
    assert titles(sort="drop table") == ["올드보이", "괴물", "기생충"]  # unknown sort: default


def test_list_pages_with_the_api_cursor(
    web: FlaskClient, movies: FlaskClient, auth: dict[str, str]
) -> None:
    for index in range(23):
        movies.post("/movies", json={"title": f"영화 {index:02d}"}, headers=auth)
    first = page(web.get("/films"))
    assert len(first.find_all("a", class_="title")) == 20
    next_link = first.one("a", rel="next").attrs["href"]
    second = page(web.get(next_link))
    assert [a.text for a in second.find_all("a", class_="title")] == [
        "영화 02",
        "영화 01",
        "영화 00",
    ]
    assert not second.find_all("a", rel="next")


@pytest.mark.parametrize(
    ("query", "message"),
    [({"year": "이천"}, "개봉 연도"), ({"cursor": "not-a-cursor"}, "페이지 정보")],
)
def test_list_explains_bad_filters(web: FlaskClient, query: dict[str, str], message: str) -> None:
    response = web.get("/films", query_string=query)
    assert response.status_code == 400
    assert message in page(response).one("p", class_="form-error").text


# --- add / edit / delete (admins) ---------------------------------------------------------


def test_add_movie_redirects_to_its_page_with_a_message(admin: FlaskClient) -> None:
    movie_id = add_movie(admin, director="봉준호", genre="드라마", release_date="2019-05-30")
    doc = page(admin.get(f"/films/{movie_id}"))
    assert doc.by_id("movie-title").text == "기생충"
    assert (
        "2019년 · 드라마 · 감독 봉준호"
        in doc.one("header", class_="movie-head").one("p", class_="meta").text
    )
    assert "추가했습니다" in doc.one("p", class_="flash").text
    assert "추가했습니다" not in page(admin.get(f"/films/{movie_id}")).text  # shown once


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"title": "   "}, "title", "비어 있을 수 없습니다"),
        ({"title": "가" * 201}, "title", "너무 깁니다"),
        ({"release_date": "2019-13-45"}, "release_date", "날짜 형식"),
        ({"poster_url": "javascript:alert(1)"}, "poster_url", "http://"),
        ({"director": "줄\n바꿈"}, "director", "줄바꿈"),
    ],
)
def test_add_movie_shows_api_errors_next_to_the_fields(
    admin: FlaskClient, fields: dict[str, str], field: str, message: str
) -> None:
    data = {"title": "제목", **fields, "csrf_token": csrf(admin, "/films/new")}
    response = admin.post("/films", data=data)
    assert response.status_code == 422
    doc = page(response)
    assert message in doc.by_id(f"{field}-error").text
    assert doc.by_id(field).attrs.get("aria-invalid") == "true"
    typed = doc.by_id(field)
    shown = typed.text if typed.tag == "textarea" else typed.attrs.get("value")
    assert shown == fields[field]  # what was typed comes back


def test_forms_need_the_csrf_token(web: FlaskClient, admin: FlaskClient) -> None:
    for client in (web, admin):
        for path in ("/films", "/upload", "/preview", "/login", "/signup", "/logout"):
            response = client.post(path, data={"title": "x", "content": "좋아요"})
            assert response.status_code == 400, path
            assert "보안 토큰" in page(response).text
    token = csrf(admin)
    response = admin.post("/films", data={"title": "x", "csrf_token": token + "x"})
    assert response.status_code == 400


def test_edit_movie_changes_and_clears_fields(admin: FlaskClient) -> None:
    movie_id = add_movie(admin, genre="드라마", director="봉준호")
    form = page(admin.get(f"/films/{movie_id}/edit"))
    assert form.by_id("genre").attrs["value"] == "드라마"
    data = {
        "csrf_token": form.find_all("input", name="csrf_token")[0].attrs["value"],
        "title": "기생충 (흑백판)",
        "genre": "",
        "director": "봉준호",
    }
    response = admin.post(f"/films/{movie_id}/edit", data=data)
    assert response.status_code == 303
    doc = page(admin.get(f"/films/{movie_id}"))
    assert doc.by_id("movie-title").text == "기생충 (흑백판)"
    assert "드라마" not in doc.one("header", class_="movie-head").one("p", class_="meta").text

    data["title"] = ""
    response = admin.post(f"/films/{movie_id}/edit", data=data)
    assert response.status_code == 422
    assert "비어 있을 수 없습니다" in page(response).by_id("title-error").text


def test_delete_says_how_many_reviews_go_and_deletes(
    admin: FlaskClient, member: FlaskClient
) -> None:
    movie_id = add_movie(admin, title="지울 영화")
    assert write_review(admin, movie_id, POSITIVE).status_code == 303
    assert write_review(member, movie_id, NEGATIVE).status_code == 303
    confirm = page(admin.get(f"/films/{movie_id}/delete"))
    assert "리뷰 2개" in confirm.by_id("delete-warning").text
    token = confirm.find_all("input", name="csrf_token")[0].attrs["value"]
    response = admin.post(f"/films/{movie_id}/delete", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == "/films"
    listing = page(admin.get("/films"))
    assert "리뷰 2개도 함께 삭제" in listing.one("p", class_="flash").text
    assert admin.get(f"/films/{movie_id}").status_code == 404
    response = admin.post(f"/films/{movie_id}/delete", data={"csrf_token": token})
    assert response.status_code == 404


# --- the movie page --------------------------------------------------------------


def test_unknown_movie_is_a_korean_404(admin: FlaskClient) -> None:
    for path in ("/films/999999", "/films/999999/edit", "/films/999999/delete"):
        response = admin.get(path)
        assert response.status_code == 404
        assert "찾을 수 없습니다" in page(response).text


def test_movie_page_without_reviews(
    web: FlaskClient, movies: FlaskClient, auth: dict[str, str]
) -> None:
    doc = page(web.get(f"/films/{api_movie(movies, auth)}"))
    assert stat(doc, "count") == "0"
    assert stat(doc, "positivity") == "–" and stat(doc, "bayesian") == "–"
    assert "아직 리뷰가 없습니다" in doc.by_id("rating-card").text
    assert not doc.find_all("svg")


def test_reviews_show_their_verdict_and_move_the_rating_card(
    member: FlaskClient, movies: FlaskClient, auth: dict[str, str]
) -> None:
    movie_id = api_movie(movies, auth)
    response = write_review(member, movie_id, POSITIVE)
    assert response.status_code == 303
    location = response.headers["Location"]
    assert re.fullmatch(rf"/films/{movie_id}\?new=\d+#review-\d+", location), location
    doc = page(member.get(location))
    assert "긍정" in doc.one("p", class_="flash").text
    new = doc.one("li", class_="new")
    assert new.one("span", class_="badge").text == "긍정"
    assert "신뢰도" in new.text and "예측 평점" in new.text
    assert new.one("p", class_="meta").text.startswith("관객 ·")  # the account's display name
    assert stat(doc, "count") == "1"
    positivity_one = float(stat(doc, "positivity").rstrip("%"))

    assert write_review(member, movie_id, NEGATIVE).status_code == 303
    doc = page(member.get(f"/films/{movie_id}"))
    assert stat(doc, "count") == "2"
    assert float(stat(doc, "positivity").rstrip("%")) < positivity_one
    badges = [r.one("span", class_="badge").text for r in doc.find_all("li", class_="review")]
    assert badges == ["부정", "긍정"]  # newest first
    split = doc.one("svg", class_="split")
    assert {r.attrs["class"] for r in split.find_all("rect")} >= {"positive", "negative"}
    bars = doc.one("svg", class_="histogram").find_all("rect")
    assert len(bars) == 10
    assert sum(1 for bar in bars if float(bar.attr("height")) > 0) in (1, 2)
    trend = doc.one("svg", class_="trend")
    assert trend.find_all("rect", class_="count")  # this week's bar


def test_reviews_filter_by_label_and_page(
    web: FlaskClient, movies: FlaskClient, reviews: FlaskClient, auth: dict[str, str]
) -> None:
    movie_id = api_movie(movies, auth)
    api_reviews(reviews, auth, movie_id, *[POSITIVE] * 22, *[NEGATIVE] * 3)
    doc = page(web.get(f"/films/{movie_id}"))
    assert len(doc.find_all("li", class_="review")) == 20
    second = page(web.get(doc.one("a", rel="next").attrs["href"]))
    assert len(second.find_all("li", class_="review")) == 5
    negative = page(web.get(f"/films/{movie_id}?label=negative"))
    badges = {r.one("span", class_="badge").text for r in negative.find_all("li", class_="review")}
    assert badges == {"부정"}
    assert len(negative.find_all("li", class_="review")) == 3
    bad = web.get(f"/films/{movie_id}?cursor=garbage")
    assert bad.status_code == 400


@pytest.mark.parametrize(
    ("content", "message"), [("   ", "비어 있을 수 없습니다"), ("가" * 2001, "너무 깁니다")]
)
def test_invalid_review_keeps_the_text_and_says_why(
    member: FlaskClient, movies: FlaskClient, auth: dict[str, str], content: str, message: str
) -> None:
    movie_id = api_movie(movies, auth)
    response = write_review(member, movie_id, content)
    assert response.status_code == 422
    doc = page(response)
    assert message in doc.by_id("content-error").text
    assert doc.by_id("content").text == " ".join(content.split())
    assert stat(doc, "count") == "0"


def test_an_author_typed_into_the_form_is_not_sent(
    member: FlaskClient, movies: FlaskClient, auth: dict[str, str]
) -> None:
    """A signed-in writer's reviews carry the account's name, whatever a forged form says."""
    movie_id = api_movie(movies, auth)
    assert write_review(member, movie_id, POSITIVE, author="관리자 (공식)").status_code == 303
    review = page(member.get(f"/films/{movie_id}")).one("li", class_="review")
    assert review.one("p", class_="meta").text.startswith("관객 ·")


def test_a_double_submitted_review_is_stored_once(
    member: FlaskClient, movies: FlaskClient, auth: dict[str, str]
) -> None:
    movie_id = api_movie(movies, auth)
    data = review_form(member, movie_id, POSITIVE)
    first = member.post(f"/films/{movie_id}/reviews", data=data)
    again = member.post(f"/films/{movie_id}/reviews", data=data)
    assert first.status_code == again.status_code == 303
    assert first.headers["Location"] == again.headers["Location"]
    assert stat(page(member.get(f"/films/{movie_id}")), "count") == "1"

    data["content"] = NEGATIVE  # the same form, resubmitted with other text
    conflict = member.post(f"/films/{movie_id}/reviews", data=data)
    assert conflict.status_code == 409
    doc = page(conflict)
    assert "이미" in doc.one("p", class_="form-error").text
    assert doc.one("input", name="request_id").attrs["value"] != data["request_id"]


def test_review_of_a_deleted_movie_is_404(
    member: FlaskClient, movies: FlaskClient, auth: dict[str, str]
) -> None:
    movie_id = api_movie(movies, auth)
    token = csrf(member, f"/films/{movie_id}")
    assert movies.delete(f"/movies/{movie_id}", headers=auth).status_code == 204
    response = member.post(
        f"/films/{movie_id}/reviews",
        data={"csrf_token": token, "content": POSITIVE, "request_id": "x"},
    )
    assert response.status_code == 404


def test_hostile_text_is_shown_as_text(
    web: FlaskClient, users: Accounts, movies: FlaskClient, auth: dict[str, str]
) -> None:
    movie_id = api_movie(movies, auth, title=HOSTILE, synopsis=HOSTILE)
    hostile = signed_in(web, users.create("hostile@example.com", "<b>나쁜</b>"))
    assert write_review(hostile, movie_id, HOSTILE).status_code == 303
    for path in (f"/films/{movie_id}", "/films", "/", "/account", "/account/reviews"):
        html = hostile.get(path).get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html, path
        assert "<b>나쁜" not in html, path
    doc = page(hostile.get(f"/films/{movie_id}"))
    assert doc.by_id("movie-title").text == HOSTILE
    assert doc.one("p", class_="content").text == HOSTILE
    assert doc.by_id("account-name").text == "<b>나쁜</b>"


# --- sentiment preview -------------------------------------------------------------


def preview(web: Any, text: str) -> Node:
    token = csrf(web)
    response = web.post("/preview", data={"csrf_token": token, "content": text})
    assert response.status_code == 200  # htmx swaps 2xx only: every outcome is a fragment
    return page(response)


def test_preview_scores_what_is_typed_without_storing(
    web: FlaskClient, movies: FlaskClient, auth: dict[str, str]
) -> None:
    movie_id = api_movie(movies, auth)
    assert preview(web, POSITIVE).one("p").attrs["data-label"] == "positive"  # anonymous too
    assert preview(web, NEGATIVE).one("p").attrs["data-label"] == "negative"
    assert "미리 보여" in preview(web, "   ").text
    assert "2000자" in preview(web, "가" * 2001).text
    assert stat(page(web.get(f"/films/{movie_id}")), "count") == "0"


def test_model_outage_is_explained_and_the_text_kept(
    member: FlaskClient,
    movies: FlaskClient,
    auth: dict[str, str],
    request: pytest.FixtureRequest,
) -> None:
    movie_id = api_movie(movies, auth)
    request.getfixturevalue("model_missing")
    assert "미리 볼 수 없습니다" in preview(member, POSITIVE).text
    response = write_review(member, movie_id, POSITIVE)
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    doc = page(response)
    assert "잠시 후" in doc.one("p", class_="form-error").text
    assert doc.by_id("content").text == POSITIVE


# --- outages, limits, errors --------------------------------------------------------


def test_an_unreachable_api_is_a_friendly_503(
    web: FlaskClient, admin: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOVIES_API_URL", "http://127.0.0.1:9")  # discard port: refused
    get_settings.cache_clear()
    document = web.get("/openapi.json")
    assert document.status_code == 503 and document.mimetype == "application/problem+json"
    assert document.headers["Retry-After"]
    response = web.get("/films")
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert "잠시 후 다시" in page(response).text
    response = admin.post("/films", data={"title": "x", "csrf_token": csrf(admin, "/films/new")})
    assert response.status_code == 503
    assert "잠시 후 다시" in page(response).one("p", class_="form-error").text


def test_writes_are_rate_limited_per_user_wherever_they_come_from(
    web: FlaskClient, users: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEB_WRITE_RATE_LIMIT", "2/minute")
    get_settings.cache_clear()
    laptop, phone = signed_in(web, users.admin()), signed_in(web, users.admin())
    other = signed_in(web, users.create("other-admin@example.com", "부관리자", role="admin"))

    def add(client: FlaskClient, address: str) -> Any:
        data = {"title": "x", "csrf_token": csrf(client, "/films/new")}
        return client.post("/films", data=data, environ_base={"REMOTE_ADDR": address})

    assert add(laptop, "10.0.0.1").status_code == 303
    assert add(phone, "10.0.0.2").status_code == 303  # the same user on another device
    response = add(laptop, "10.0.0.3")
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 60
    assert "요청이 너무 많습니다" in page(response).text
    assert add(other, "10.0.0.1").status_code == 303  # another user, the same address
    assert laptop.get("/films").status_code == 200  # reads are not limited


@pytest.mark.parametrize(("hops", "secure"), [("0", False), ("1", True)])
def test_csrf_cookie_is_http_only_and_secure_behind_google(
    web: FlaskClient, monkeypatch: pytest.MonkeyPatch, hops: str, secure: bool
) -> None:
    monkeypatch.setenv("WEB_TRUSTED_PROXY_HOPS", hops)
    get_settings.cache_clear()
    cookie = web.get("/login").headers["Set-Cookie"]
    assert cookie.startswith("console=")  # the CSRF and flash session, not who is signed in
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert ("Secure" in cookie) is secure  # run.app and the load balancer are HTTPS only


def test_method_not_allowed_and_unknown_paths(web: FlaskClient) -> None:
    assert web.delete("/films").status_code == 405
    response = web.get("/films/abc")
    assert response.status_code == 404
    assert "찾을 수 없습니다" in page(response).text


# --- uploads ----------------------------------------------------------------------


@pytest.fixture
def uploads_bucket(gcs: Any) -> Any:
    return gcs.create_bucket(get_settings().uploads_bucket)


def upload(web: Any, name: str, data: bytes) -> Any:
    token = csrf(web, "/upload")
    return web.post(
        "/upload",
        data={"csrf_token": token, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_upload_goes_to_the_bucket_and_the_page_follows_it(
    admin: FlaskClient, uploads_bucket: Any, movies: FlaskClient, auth: dict[str, str]
) -> None:
    from tests.support import function_client
    from tests.support.uploads import deliver, event_for

    movie = movies.post("/movies", json={"title": "업로드"}, headers=auth).get_json()
    lines = [
        {"movie_id": movie["id"], "author": "a", "content": POSITIVE},
        {"movie_id": movie["id"], "author": "b", "content": NEGATIVE},
        {"movie_id": movie["id"], "author": "c"},
        {"movie_id": 999999, "author": "d", "content": POSITIVE},
    ]
    data = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode()
    response = upload(admin, "내 리뷰 (1).jsonl", data)
    assert response.status_code == 303
    location = response.headers["Location"]
    match = re.fullmatch(r"/uploads/([0-9a-f]{32})/(1\.jsonl)", location)
    assert match, location
    ref = web_uploads.UploadRef(match.group(1), match.group(2))
    blob = uploads_bucket.blob(ref.object_name)
    assert blob.download_as_bytes() == data
    blob.reload()

    pending = admin.get(location)
    assert pending.status_code == 200
    report = page(pending).by_id("upload-report")
    assert report.attrs["hx-trigger"] == "every 1s"
    assert "처리 중" in report.text
    assert '<meta http-equiv="refresh"' in pending.get_data(as_text=True)  # inside <noscript>

    on_upload = function_client("reviews", target="on_upload", signature="cloudevent")
    assert deliver(on_upload, event_for(blob)).status_code == 200
    fragment = page(admin.get(f"{location}/report"))
    done = fragment.by_id("upload-report")
    assert done.attrs["data-status"] == "done" and "hx-trigger" not in done.attrs
    assert [fragment.by_id(f"report-{k}").text for k in ("lines", "inserted", "rejected")] == [
        "4",
        "2",
        "2",
    ]
    rejects = admin.get(fragment.by_id("rejects-link").attrs["href"])
    assert rejects.status_code == 200
    assert "attachment" in rejects.headers["Content-Disposition"]
    rows = [json.loads(line) for line in rejects.get_data(as_text=True).splitlines()]
    assert [row["line"] for row in rows] == [3, 4]
    assert "refresh" not in admin.get(location).get_data(as_text=True)


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("reviews.txt", b"x", ".jsonl, .csv"),
        ("reviews.exe", b"MZ", ".jsonl, .csv"),
        ("reviews.jsonl", b"", "빈 파일"),
    ],
)
def test_upload_refuses_other_files(
    admin: FlaskClient, uploads_bucket: Any, name: str, data: bytes, message: str
) -> None:
    response = upload(admin, name, data)
    assert response.status_code == 400
    assert message in page(response).by_id("upload-error").text
    assert not list(uploads_bucket.list_blobs())


def test_upload_without_a_file(admin: FlaskClient, uploads_bucket: Any) -> None:
    response = admin.post("/upload", data={"csrf_token": csrf(admin, "/upload")})
    assert response.status_code == 400
    assert "파일을 고르세요" in page(response).text


@pytest.mark.parametrize("lines", [500, 20_000])  # just over the cap; far over (never read)
def test_upload_size_is_capped_with_a_clear_message(
    admin: FlaskClient, uploads_bucket: Any, monkeypatch: pytest.MonkeyPatch, lines: int
) -> None:
    monkeypatch.setenv("WEB_UPLOAD_MAX_BYTES", "2048")
    get_settings.cache_clear()
    response = upload(admin, "big.csv", b"movie_id,author,content\n" + b"1,a,b\n" * lines)
    assert response.status_code == 413
    assert "2 KB까지" in page(response).text
    assert not list(uploads_bucket.list_blobs())


@pytest.mark.parametrize(
    "path",
    [
        "/uploads/nothex/x.jsonl",
        "/uploads/" + "a" * 32 + "/x.exe",
        "/uploads/" + "a" * 32 + "/..%2Fsecret.jsonl",
        "/uploads/" + "a" * 32 + "/x.jsonl/rejects",
        # issue 23: a token this console never issued polled "processing" forever
        "/uploads/" + "a" * 32 + "/x.jsonl",
        "/uploads/" + "0123456789abcdef" * 2 + "/x.jsonl/report",
    ],
)
def test_upload_pages_for_unknown_or_bad_names_are_404(
    admin: FlaskClient, uploads_bucket: Any, path: str
) -> None:
    assert admin.get(path).status_code == 404


def test_an_issued_token_names_one_file_only(admin: FlaskClient, uploads_bucket: Any) -> None:
    location = upload(admin, "mine.jsonl", b'{"movie_id": 1}\n').headers["Location"]
    assert admin.get(location).status_code == 200  # processing, until the report exists
    token = location.split("/")[2]
    assert admin.get(f"/uploads/{token}/other.jsonl").status_code == 404
    forged = token[:16] + format(int(token[16:], 16) ^ 1, "016x")
    assert admin.get(f"/uploads/{forged}/mine.jsonl").status_code == 404


def test_a_chunked_upload_over_the_cap_gets_the_413_page(
    admin: FlaskClient, uploads_bucket: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No Content-Length to refuse it by: cut off at the cap, it must still be the 413 page
    (functions-framework's read of the rest of the request made it a plain 500)."""
    monkeypatch.setenv("WEB_UPLOAD_MAX_BYTES", "2048")
    get_settings.cache_clear()
    boundary = "b0undary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
        f"{csrf(admin, '/upload')}\r\n--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\n'
    )
    body = head.encode() + b"1,a,b\n" * 200_000 + f"\r\n--{boundary}--\r\n".encode()
    response = admin.post(
        "/upload",
        input_stream=io.BytesIO(body),
        headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Transfer-Encoding": "chunked",
        },
        environ_overrides={"wsgi.input_terminated": True},  # as gunicorn sets it
    )
    assert response.status_code == 413
    assert "2 KB까지" in page(response).text
    assert not list(uploads_bucket.list_blobs())


# --- API docs -----------------------------------------------------------------------


def test_openapi_json_merges_the_three_documents(web: FlaskClient) -> None:
    response = web.get("/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    assert {
        "/movies",
        "/movies/{movie_id}",
        "/reviews",
        "/reviews:batch",
        "/sentiment",
        "/ratings",
        "/ratings/{movie_id}",
        "/ratings/{movie_id}/trend",
    } <= set(paths)
    assert not {"/healthz", "/readyz", "/openapi.json"} & set(paths)
    assert paths["/movies"]["post"]["tags"] == ["movies"]
    assert paths["/ratings"]["get"]["tags"] == ["ratings"]
    schemas = doc["components"]["schemas"]
    assert {"Movie", "Review", "MovieRating", "Problem"} <= set(schemas)
    refs = re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(doc))
    assert set(refs) <= set(schemas)  # every reference resolves in the merged document
    # the functions live on their own URLs here: each path says where to call it
    assert paths["/movies"]["servers"][0]["url"].startswith("http://127.0.0.1:")
    assert doc["components"]["securitySchemes"]["apiKey"]["name"] == "X-API-Key"


def test_openapi_over_one_base_url_is_relative(
    web: FlaskClient, monkeypatch: pytest.MonkeyPatch, live_apis: dict[str, str]
) -> None:
    """Behind one base URL (router, load balancer) the document's paths are relative."""
    from infra.router import running
    from shared.web import openapi

    routes = {"/movies": live_apis["movies"], "/ratings": live_apis["ratings"]}
    routes |= {"/reviews": live_apis["reviews"], "/sentiment": live_apis["reviews"]}
    for name in live_apis:
        monkeypatch.delenv(f"{name.upper()}_API_URL")
    with running(routes) as base:
        monkeypatch.setenv("API_BASE_URL", base)
        get_settings.cache_clear()
        openapi.reset()
        doc = web.get("/openapi.json").get_json()
    assert doc["servers"] == [{"url": "/"}]
    assert "/sentiment" in doc["paths"]
    assert all("servers" not in item for item in doc["paths"].values())


def test_docs_page_loads_swagger_ui_from_vendored_files(web: FlaskClient) -> None:
    response = web.get("/docs")
    assert response.status_code == 200
    doc = page(response)
    assert doc.by_id("swagger-ui").attrs["data-url"] == "/openapi.json"
    scripts = [n.attr("src") for n in doc.find_all("script")]
    assert any("swagger-ui-bundle.js" in src for src in scripts)
    for src in scripts:
        assert web.get(src).status_code == 200
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_console_paths_never_collide_with_api_prefixes() -> None:
    """Behind one base URL the router sends the API prefixes to the functions: the console
    must live elsewhere (that is why its movie pages are under /films)."""
    from infra.router import Router
    from infra.stack import FUNCTIONS
    from shared.web.app import get_app

    router = Router({prefix: "api" for fn in FUNCTIONS for prefix in fn.prefixes}, "console")
    for rule in get_app().url_map.iter_rules():
        sample = re.sub(r"<[^>]+>", "1", rule.rule)
        assert router.target(sample) == "console", rule.rule
