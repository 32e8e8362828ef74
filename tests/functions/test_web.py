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
from tests.support.web import Node, parse_html, serve

POSITIVE = "정말 재미있고 감동적인 최고의 영화였어요. 배우들 연기도 완벽하고 또 보고 싶네요"
NEGATIVE = "시간 아깝다. 스토리도 엉망이고 연기도 최악인 쓰레기 영화"
HOSTILE = '<script>alert("xss")</script><img src=x onerror=alert(1)>'


def page(response: Any) -> Node:
    return parse_html(response.get_data(as_text=True))


def csrf(web: Any, path: str = "/films/new") -> str:
    """The CSRF token of this client's session, from a form page."""
    token = page(web.get(path)).one("input", name="csrf_token").attrs["value"]
    assert token
    return token


def add_movie(web: Any, **fields: str) -> int:
    data = {"title": "기생충", **fields, "csrf_token": csrf(web)}
    response = web.post("/films", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)
    match = re.fullmatch(r"/films/(\d+)", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def write_review(web: Any, movie_id: int, content: str, author: str = "관객", **extra: str) -> Any:
    form = page(web.get(f"/films/{movie_id}"))
    data = {
        "csrf_token": form.one("input", name="csrf_token").attrs["value"],
        "request_id": form.one("input", name="request_id").attrs["value"],
        "author": author,
        "content": content,
        **extra,
    }
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


@pytest.mark.parametrize("path", ["/", "/films", "/films/new", "/upload", "/docs", "/nope"])
def test_every_page_is_strict_and_korean(web: FlaskClient, path: str) -> None:
    response = web.get(path)
    assert response.status_code == (404 if path == "/nope" else 200)
    assert response.mimetype == "text/html"
    assert '<html lang="ko">' in response.get_data(as_text=True)
    assert_strict_page(response)


def test_movie_pages_are_strict_and_never_leak_the_key(web: FlaskClient) -> None:
    movie_id = add_movie(web, synopsis="줄거리")
    assert write_review(web, movie_id, POSITIVE).status_code == 303
    for path in (f"/films/{movie_id}", f"/films/{movie_id}/edit", f"/films/{movie_id}/delete"):
        response = web.get(path)
        assert response.status_code == 200
        assert_strict_page(response)
    cookies = " ".join(f"{c.key}={c.value}" for c in (web._cookies or {}).values())
    assert API_KEY not in cookies


def test_assets_are_vendored_and_cached_by_content_hash(web: FlaskClient) -> None:
    doc = page(web.get(f"/films/{add_movie(web)}"))
    urls = [n.attr("href") for n in doc.find_all("link")] + [
        n.attr("src") for n in doc.find_all("script")
    ]
    assert any("htmx.min.js" in url for url in urls)
    for url in urls:
        assert url.startswith("/assets/") and "?v=" in url, url  # same origin, no CDN
        response = web.get(url)
        assert response.status_code == 200, url
        assert "max-age=31536000" in response.headers["Cache-Control"]


# --- home ----------------------------------------------------------------------------


def test_home_without_reviews_says_so(web: FlaskClient) -> None:
    response = web.get("/")
    assert response.status_code == 200
    text = page(response).text
    assert "평점 순위" in text and "아직 리뷰가" in text


def test_home_shows_the_leaderboard_and_recent_movies(web: FlaskClient) -> None:
    liked, disliked, few = add_movie(web, title="명작"), add_movie(web, title="망작"), 0
    few = add_movie(web, title="리뷰 적은 영화")
    for _ in range(3):
        assert write_review(web, liked, POSITIVE).status_code == 303
        assert write_review(web, disliked, NEGATIVE).status_code == 303
    assert write_review(web, few, POSITIVE).status_code == 303
    doc = page(web.get("/"))
    rows = doc.one("table", class_="leaderboard").find_all("tr")[1:]
    titles = [row.find_all("a")[0].text for row in rows]
    assert titles == ["명작", "망작"]  # Bayesian order; under 3 reviews stays off the board
    recent = [a.text for a in doc.one("ul", class_="cards").find_all("a")]
    assert set(recent) == {"명작", "망작", "리뷰 적은 영화"}


# --- movies list ---------------------------------------------------------------------


def test_list_searches_filters_and_sorts(web: FlaskClient) -> None:
    add_movie(web, title="기생충", genre="드라마", director="봉준호", release_date="2019-05-30")
    add_movie(web, title="괴물", genre="SF", director="봉준호", release_date="2006-07-27")
    add_movie(web, title="올드보이", genre="스릴러", director="박찬욱", release_date="2003-11-21")

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


# --- add / edit / delete -------------------------------------------------------------


def test_add_movie_redirects_to_its_page_with_a_message(web: FlaskClient) -> None:
    movie_id = add_movie(web, director="봉준호", genre="드라마", release_date="2019-05-30")
    doc = page(web.get(f"/films/{movie_id}"))
    assert doc.by_id("movie-title").text == "기생충"
    assert "2019년 · 드라마 · 감독 봉준호" in doc.one("p", class_="meta").text
    assert "추가했습니다" in doc.one("p", class_="flash").text
    assert "추가했습니다" not in page(web.get(f"/films/{movie_id}")).text  # shown once


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
    web: FlaskClient, fields: dict[str, str], field: str, message: str
) -> None:
    data = {"title": "제목", **fields, "csrf_token": csrf(web)}
    response = web.post("/films", data=data)
    assert response.status_code == 422
    doc = page(response)
    assert message in doc.by_id(f"{field}-error").text
    assert doc.by_id(field).attrs.get("aria-invalid") == "true"
    typed = doc.by_id(field)
    shown = typed.text if typed.tag == "textarea" else typed.attrs.get("value")
    assert shown == fields[field]  # what was typed comes back


def test_forms_need_the_csrf_token(web: FlaskClient) -> None:
    for path in ("/films", "/upload", "/preview"):
        response = web.post(path, data={"title": "x", "content": "좋아요"})
        assert response.status_code == 400
        assert "보안 토큰" in page(response).text
    token = csrf(web)
    response = web.post("/films", data={"title": "x", "csrf_token": token + "x"})
    assert response.status_code == 400


def test_edit_movie_changes_and_clears_fields(web: FlaskClient) -> None:
    movie_id = add_movie(web, genre="드라마", director="봉준호")
    form = page(web.get(f"/films/{movie_id}/edit"))
    assert form.by_id("genre").attrs["value"] == "드라마"
    data = {
        "csrf_token": form.one("input", name="csrf_token").attrs["value"],
        "title": "기생충 (흑백판)",
        "genre": "",
        "director": "봉준호",
    }
    response = web.post(f"/films/{movie_id}/edit", data=data)
    assert response.status_code == 303
    doc = page(web.get(f"/films/{movie_id}"))
    assert doc.by_id("movie-title").text == "기생충 (흑백판)"
    assert "드라마" not in doc.one("p", class_="meta").text

    data["title"] = ""
    response = web.post(f"/films/{movie_id}/edit", data=data)
    assert response.status_code == 422
    assert "비어 있을 수 없습니다" in page(response).by_id("title-error").text


def test_delete_says_how_many_reviews_go_and_deletes(web: FlaskClient) -> None:
    movie_id = add_movie(web, title="지울 영화")
    for content in (POSITIVE, NEGATIVE):
        assert write_review(web, movie_id, content).status_code == 303
    confirm = page(web.get(f"/films/{movie_id}/delete"))
    assert "리뷰 2개" in confirm.by_id("delete-warning").text
    token = confirm.one("input", name="csrf_token").attrs["value"]
    response = web.post(f"/films/{movie_id}/delete", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == "/films"
    listing = page(web.get("/films"))
    assert "리뷰 2개도 함께 삭제" in listing.one("p", class_="flash").text
    assert web.get(f"/films/{movie_id}").status_code == 404
    response = web.post(f"/films/{movie_id}/delete", data={"csrf_token": token})
    assert response.status_code == 404


# --- the movie page --------------------------------------------------------------


def test_unknown_movie_is_a_korean_404(web: FlaskClient) -> None:
    for path in ("/films/999999", "/films/999999/edit", "/films/999999/delete"):
        response = web.get(path)
        assert response.status_code == 404
        assert "찾을 수 없습니다" in page(response).text


def test_movie_page_without_reviews(web: FlaskClient) -> None:
    doc = page(web.get(f"/films/{add_movie(web)}"))
    assert stat(doc, "count") == "0"
    assert stat(doc, "positivity") == "–" and stat(doc, "bayesian") == "–"
    assert "아직 리뷰가 없습니다" in doc.by_id("rating-card").text
    assert not doc.find_all("svg")


def test_reviews_show_their_verdict_and_move_the_rating_card(web: FlaskClient) -> None:
    movie_id = add_movie(web)
    response = write_review(web, movie_id, POSITIVE)
    assert response.status_code == 303
    location = response.headers["Location"]
    assert re.fullmatch(rf"/films/{movie_id}\?new=\d+#review-\d+", location), location
    doc = page(web.get(location))
    assert "긍정" in doc.one("p", class_="flash").text
    new = doc.one("li", class_="new")
    assert new.one("span", class_="badge").text == "긍정"
    assert "신뢰도" in new.text and "예측 평점" in new.text
    assert stat(doc, "count") == "1"
    positivity_one = float(stat(doc, "positivity").rstrip("%"))

    assert write_review(web, movie_id, NEGATIVE).status_code == 303
    doc = page(web.get(f"/films/{movie_id}"))
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
    web: FlaskClient, reviews: FlaskClient, auth: dict[str, str]
) -> None:
    movie_id = add_movie(web)
    batch = [{"movie_id": movie_id, "author": "a", "content": POSITIVE}] * 22
    batch += [{"movie_id": movie_id, "author": "b", "content": NEGATIVE}] * 3
    assert reviews.post("/reviews:batch", json={"items": batch}, headers=auth).status_code == 201
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
    ("author", "content", "field", "message"),
    [
        ("관객", "   ", "content", "비어 있을 수 없습니다"),
        ("관객", "가" * 2001, "content", "너무 깁니다"),
        ("", POSITIVE, "author", "비어 있을 수 없습니다"),
        ("이름\n줄", POSITIVE, "author", "줄바꿈"),
    ],
)
def test_invalid_review_keeps_the_text_and_says_why(
    web: FlaskClient, author: str, content: str, field: str, message: str
) -> None:
    movie_id = add_movie(web)
    response = write_review(web, movie_id, content, author=author)
    assert response.status_code == 422
    doc = page(response)
    assert message in doc.by_id(f"{field}-error").text
    assert doc.by_id("content").text == " ".join(content.split())
    assert stat(doc, "count") == "0"


def test_a_double_submitted_review_is_stored_once(web: FlaskClient) -> None:
    movie_id = add_movie(web)
    form = page(web.get(f"/films/{movie_id}"))
    data = {
        "csrf_token": form.one("input", name="csrf_token").attrs["value"],
        "request_id": form.one("input", name="request_id").attrs["value"],
        "author": "관객",
        "content": POSITIVE,
    }
    first = web.post(f"/films/{movie_id}/reviews", data=data)
    again = web.post(f"/films/{movie_id}/reviews", data=data)
    assert first.status_code == again.status_code == 303
    assert first.headers["Location"] == again.headers["Location"]
    assert stat(page(web.get(f"/films/{movie_id}")), "count") == "1"

    data["content"] = NEGATIVE  # the same form, resubmitted with other text
    conflict = web.post(f"/films/{movie_id}/reviews", data=data)
    assert conflict.status_code == 409
    doc = page(conflict)
    assert "이미" in doc.one("p", class_="form-error").text
    assert doc.one("input", name="request_id").attrs["value"] != data["request_id"]


def test_review_of_a_deleted_movie_is_404(web: FlaskClient) -> None:
    movie_id = add_movie(web)
    form = page(web.get(f"/films/{movie_id}"))
    token = form.one("input", name="csrf_token").attrs["value"]
    web.post(f"/films/{movie_id}/delete", data={"csrf_token": token})
    response = web.post(
        f"/films/{movie_id}/reviews",
        data={"csrf_token": token, "author": "a", "content": POSITIVE, "request_id": "x"},
    )
    assert response.status_code == 404


def test_hostile_text_is_shown_as_text(web: FlaskClient) -> None:
    movie_id = add_movie(web, title=HOSTILE, synopsis=HOSTILE)
    assert write_review(web, movie_id, HOSTILE, author="<b>나쁜</b>").status_code == 303
    for path in (f"/films/{movie_id}", "/films", "/", f"/films/{movie_id}/delete"):
        html = web.get(path).get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html, path
        assert "<b>나쁜" not in html
    doc = page(web.get(f"/films/{movie_id}"))
    assert doc.by_id("movie-title").text == HOSTILE
    assert doc.one("p", class_="content").text == HOSTILE


# --- sentiment preview -------------------------------------------------------------


def preview(web: Any, text: str) -> Node:
    token = csrf(web)
    response = web.post("/preview", data={"csrf_token": token, "content": text})
    assert response.status_code == 200  # htmx swaps 2xx only: every outcome is a fragment
    return page(response)


def test_preview_scores_what_is_typed_without_storing(web: FlaskClient) -> None:
    movie_id = add_movie(web)
    assert preview(web, POSITIVE).one("p").attrs["data-label"] == "positive"
    assert preview(web, NEGATIVE).one("p").attrs["data-label"] == "negative"
    assert "미리 보여" in preview(web, "   ").text
    assert "2000자" in preview(web, "가" * 2001).text
    assert stat(page(web.get(f"/films/{movie_id}")), "count") == "0"


def test_model_outage_is_explained_and_the_text_kept(
    web: FlaskClient, request: pytest.FixtureRequest
) -> None:
    movie_id = add_movie(web)
    request.getfixturevalue("model_missing")
    assert "미리 볼 수 없습니다" in preview(web, POSITIVE).text
    response = write_review(web, movie_id, POSITIVE)
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    doc = page(response)
    assert "잠시 후" in doc.one("p", class_="form-error").text
    assert doc.by_id("content").text == POSITIVE


# --- outages, limits, errors --------------------------------------------------------


def test_an_unreachable_api_is_a_friendly_503(
    web: FlaskClient, monkeypatch: pytest.MonkeyPatch
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
    response = web.post("/films", data={"title": "x", "csrf_token": csrf(web)})
    assert response.status_code == 503
    assert "잠시 후 다시" in page(response).one("p", class_="form-error").text


def test_writes_are_rate_limited_per_client(
    web: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEB_WRITE_RATE_LIMIT", "2/minute")
    get_settings.cache_clear()
    token = csrf(web)
    for _ in range(2):
        assert web.post("/films", data={"title": "x", "csrf_token": token}).status_code == 303
    response = web.post("/films", data={"title": "x", "csrf_token": token})
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 60
    assert "요청이 너무 많습니다" in page(response).text
    assert web.get("/films").status_code == 200  # reads are not limited


def test_rate_limit_keys_on_the_forwarded_client_behind_trusted_proxies(
    web: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEB_WRITE_RATE_LIMIT", "1/minute")
    monkeypatch.setenv("WEB_TRUSTED_PROXY_HOPS", "1")
    get_settings.cache_clear()
    token = csrf(web)

    def post(forwarded: str) -> Any:
        headers = {"X-Forwarded-For": forwarded}
        return web.post("/films", data={"title": "x", "csrf_token": token}, headers=headers)

    assert post("1.1.1.1").status_code == 303
    assert post("2.2.2.2").status_code == 303  # another client
    assert post("9.9.9.9, 1.1.1.1").status_code == 429  # a spoofed left entry changes nothing


@pytest.mark.parametrize(("hops", "secure"), [("0", False), ("1", True)])
def test_session_cookie_is_http_only_and_secure_behind_google(
    web: FlaskClient, monkeypatch: pytest.MonkeyPatch, hops: str, secure: bool
) -> None:
    monkeypatch.setenv("WEB_TRUSTED_PROXY_HOPS", hops)
    get_settings.cache_clear()
    cookie = web.get("/films/new").headers["Set-Cookie"]
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
    web: FlaskClient, uploads_bucket: Any, movies: FlaskClient, auth: dict[str, str]
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
    response = upload(web, "내 리뷰 (1).jsonl", data)
    assert response.status_code == 303
    location = response.headers["Location"]
    match = re.fullmatch(r"/uploads/([0-9a-f]{32})/(1\.jsonl)", location)
    assert match, location
    ref = web_uploads.UploadRef(match.group(1), match.group(2))
    blob = uploads_bucket.blob(ref.object_name)
    assert blob.download_as_bytes() == data
    blob.reload()

    pending = web.get(location)
    assert pending.status_code == 200
    report = page(pending).by_id("upload-report")
    assert report.attrs["hx-trigger"] == "every 1s"
    assert "처리 중" in report.text
    assert '<meta http-equiv="refresh"' in pending.get_data(as_text=True)  # inside <noscript>

    on_upload = function_client("reviews", target="on_upload", signature="cloudevent")
    assert deliver(on_upload, event_for(blob)).status_code == 200
    fragment = page(web.get(f"{location}/report"))
    done = fragment.by_id("upload-report")
    assert done.attrs["data-status"] == "done" and "hx-trigger" not in done.attrs
    assert [fragment.by_id(f"report-{k}").text for k in ("lines", "inserted", "rejected")] == [
        "4",
        "2",
        "2",
    ]
    rejects = web.get(fragment.by_id("rejects-link").attrs["href"])
    assert rejects.status_code == 200
    assert "attachment" in rejects.headers["Content-Disposition"]
    rows = [json.loads(line) for line in rejects.get_data(as_text=True).splitlines()]
    assert [row["line"] for row in rows] == [3, 4]
    assert "refresh" not in web.get(location).get_data(as_text=True)


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("reviews.txt", b"x", ".jsonl, .csv"),
        ("reviews.exe", b"MZ", ".jsonl, .csv"),
        ("reviews.jsonl", b"", "빈 파일"),
    ],
)
def test_upload_refuses_other_files(
    web: FlaskClient, uploads_bucket: Any, name: str, data: bytes, message: str
) -> None:
    response = upload(web, name, data)
    assert response.status_code == 400
    assert message in page(response).by_id("upload-error").text
    assert not list(uploads_bucket.list_blobs())


def test_upload_without_a_file(web: FlaskClient, uploads_bucket: Any) -> None:
    response = web.post("/upload", data={"csrf_token": csrf(web, "/upload")})
    assert response.status_code == 400
    assert "파일을 고르세요" in page(response).text


@pytest.mark.parametrize("lines", [500, 20_000])  # just over the cap; far over (never read)
def test_upload_size_is_capped_with_a_clear_message(
    web: FlaskClient, uploads_bucket: Any, monkeypatch: pytest.MonkeyPatch, lines: int
) -> None:
    monkeypatch.setenv("WEB_UPLOAD_MAX_BYTES", "2048")
    get_settings.cache_clear()
    response = upload(web, "big.csv", b"movie_id,author,content\n" + b"1,a,b\n" * lines)
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
    web: FlaskClient, uploads_bucket: Any, path: str
) -> None:
    assert web.get(path).status_code == 404


def test_an_issued_token_names_one_file_only(web: FlaskClient, uploads_bucket: Any) -> None:
    location = upload(web, "mine.jsonl", b'{"movie_id": 1}\n').headers["Location"]
    assert web.get(location).status_code == 200  # processing, until the report exists
    token = location.split("/")[2]
    assert web.get(f"/uploads/{token}/other.jsonl").status_code == 404
    forged = token[:16] + format(int(token[16:], 16) ^ 1, "016x")
    assert web.get(f"/uploads/{forged}/mine.jsonl").status_code == 404


def test_a_chunked_upload_over_the_cap_gets_the_413_page(
    web: FlaskClient, uploads_bucket: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No Content-Length to refuse it by: cut off at the cap, it must still be the 413 page
    (functions-framework's read of the rest of the request made it a plain 500)."""
    monkeypatch.setenv("WEB_UPLOAD_MAX_BYTES", "2048")
    get_settings.cache_clear()
    boundary = "b0undary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
        f"{csrf(web, '/upload')}\r\n--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\n'
    )
    body = head.encode() + b"1,a,b\n" * 200_000 + f"\r\n--{boundary}--\r\n".encode()
    response = web.post(
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
    from infra.router import Router
    from shared.web import openapi

    routes = {"/movies": live_apis["movies"], "/ratings": live_apis["ratings"]}
    routes |= {"/reviews": live_apis["reviews"], "/sentiment": live_apis["reviews"]}
    for name in live_apis:
        monkeypatch.delenv(f"{name.upper()}_API_URL")
    with serve(Router(routes)) as base:
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
