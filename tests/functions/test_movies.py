"""The movies contract through functions-framework's real HTTP surface."""

from __future__ import annotations

import base64
import json
import threading
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

PROBLEM = "application/problem+json"


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def create(movies: FlaskClient, auth: dict[str, str], **fields: Any) -> Any:
    response = movies.post("/movies", json={"title": "기본 영화", **fields}, headers=auth)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def assert_problem(response: TestResponse, status: int, field: str | None = None) -> Any:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == status
    assert {"type", "title", "detail"} <= body.keys()
    assert "Traceback" not in response.get_data(as_text=True)
    if field is not None:
        assert field in {error["field"] for error in body["errors"]}, body
    return body


# --- CRUD -------------------------------------------------------------------------------------


def test_create_returns_the_stored_movie_with_location(
    movies: FlaskClient, auth: dict[str, str]
) -> None:
    response = movies.post(
        "/movies",
        headers=auth,
        json={
            "title": "  기생충  ",
            "release_date": "2019-05-30",
            "director": "봉준호",
            "genre": "드라마",
            "poster_url": "https://img.example/p.jpg",
            "synopsis": "반지하\n가족",
        },
    )
    assert response.status_code == 201
    body = response.get_json()
    assert response.headers["Location"] == f"/movies/{body['id']}"
    assert body["title"] == "기생충"
    assert body["release_date"] == "2019-05-30"
    assert body["synopsis"] == "반지하\n가족"
    assert body["created_at"] == body["updated_at"]
    assert movies.get(f"/movies/{body['id']}").get_json() == body


def test_patch_changes_only_sent_fields_and_null_clears(
    movies: FlaskClient, auth: dict[str, str]
) -> None:
    movie = create(movies, auth, director="박찬욱", genre="스릴러")
    response = movies.patch(
        f"/movies/{movie['id']}", json={"genre": None, "title": "올드보이"}, headers=auth
    )
    assert response.status_code == 200
    body = response.get_json()
    assert (body["title"], body["director"], body["genre"]) == ("올드보이", "박찬욱", None)
    assert body["updated_at"] > movie["updated_at"]


def test_empty_patch_is_a_no_op(movies: FlaskClient, auth: dict[str, str]) -> None:
    movie = create(movies, auth)
    response = movies.patch(f"/movies/{movie['id']}", json={}, headers=auth)
    assert response.get_json() == movie


def test_delete_then_404(movies: FlaskClient, auth: dict[str, str]) -> None:
    movie = create(movies, auth)
    assert movies.delete(f"/movies/{movie['id']}", headers=auth).status_code == 204
    assert_problem(movies.get(f"/movies/{movie['id']}"), 404)
    assert_problem(movies.delete(f"/movies/{movie['id']}", headers=auth), 404)
    assert_problem(movies.patch(f"/movies/{movie['id']}", json={}, headers=auth), 404)


@pytest.mark.parametrize(
    "path", ["/movies/0", "/movies/abc", "/movies/-1", "/movies/99999999999999999999", "/nothing"]
)
def test_unknown_paths_are_404_problems(movies: FlaskClient, path: str) -> None:
    assert_problem(movies.get(path), 404)


def test_wrong_method_is_405_with_allow(movies: FlaskClient, auth: dict[str, str]) -> None:
    response = movies.put("/movies", json={}, headers=auth)
    assert_problem(response, 405)
    assert "POST" in response.headers["Allow"]


BAD_IDS = ["0", "-1", "abc", "01x", str(2**63), "99999999999999999999", "1.0", "%0A"]


@pytest.mark.parametrize("bad", BAD_IDS)
def test_every_method_on_a_bad_id_is_a_404_problem(
    movies: FlaskClient, auth: dict[str, str], bad: str
) -> None:
    for method in ("GET", "PATCH", "DELETE"):
        response = movies.open(f"/movies/{bad}", method=method, json={}, headers=auth)
        assert_problem(response, 404)


@pytest.mark.parametrize("bad", ["0", "-1", str(2**63), "99999999999999999999"])
def test_an_unknown_method_on_a_bad_id_is_405_with_the_item_allow(
    movies: FlaskClient, auth: dict[str, str], bad: str
) -> None:
    response = movies.put(f"/movies/{bad}", json={}, headers=auth)
    assert_problem(response, 405)
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "PATCH", "DELETE"}
    assert "POST" not in response.headers["Allow"]


@pytest.mark.parametrize("path", ["/movies//1", "/movies/\n", "/movies/1/\n", "/\n", "/x\ny"])
def test_odd_paths_are_404_problems_never_redirects_or_html(movies: FlaskClient, path: str) -> None:
    for method in ("GET", "DELETE", "PUT"):
        # PATH_INFO as a server passes it (a test-client URL starting "//" would name a host)
        response = movies.open("/", method=method, environ_overrides={"PATH_INFO": path})
        assert response.status_code in (404, 405), response.get_data(as_text=True)
        assert response.mimetype == PROBLEM
        assert not response.headers.get("Location")


def test_a_doubled_leading_slash_is_read_as_one_never_a_redirect(movies: FlaskClient) -> None:
    response = movies.open("/", environ_overrides={"PATH_INFO": "//movies"})
    assert response.status_code == 200
    assert response.mimetype == "application/json"


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "가" * 201}, "title"),
        ({"title": 42}, "title"),
        ({"title": "a\u0000b"}, "title"),
        ({"title": "line\nbreak"}, "title"),
        ({"release_date": "2019-13-01"}, "release_date"),
        ({"release_date": "yesterday"}, "release_date"),
        ({"release_date": 0}, "release_date"),  # not 1970-01-01
        ({"release_date": "20190530"}, "release_date"),
        ({"title": " " * 150 + "a" * 60}, "title"),  # 210 characters as sent
        ({"title": "\u3000"}, "title"),  # ideographic space only
        ({"poster_url": "ftp://x.example/p.jpg"}, "poster_url"),
        ({"poster_url": "javascript:alert(1)"}, "poster_url"),
        ({"poster_url": "/relative.jpg"}, "poster_url"),
        ({"director": "d" * 201}, "director"),
        ({"genre": "g" * 51}, "genre"),
        ({"synopsis": "s" * 5001}, "synopsis"),
        ({"synopsis": "bell\u0007"}, "synopsis"),
        ({"rating": 5}, "rating"),
        ({"id": 7}, "id"),
    ],
)
def test_invalid_fields_are_422_with_the_field_named(
    movies: FlaskClient, auth: dict[str, str], fields: dict[str, Any], field: str
) -> None:
    body = {"title": "ok", **fields}
    assert_problem(movies.post("/movies", json=body, headers=auth), 422, field)


def test_duplicate_keys_are_400(movies: FlaskClient, auth: dict[str, str]) -> None:
    raw = b'{"title": "first", "title": "second"}'
    response = movies.post("/movies", data=raw, content_type="application/json", headers=auth)
    assert_problem(response, 400)
    assert "duplicate" in response.get_json()["detail"]


def test_title_is_required(movies: FlaskClient, auth: dict[str, str]) -> None:
    assert_problem(movies.post("/movies", json={"director": "x"}, headers=auth), 422, "title")


def test_patch_validates_the_same_way_and_rejects_null_title(
    movies: FlaskClient, auth: dict[str, str]
) -> None:
    movie = create(movies, auth)
    url = f"/movies/{movie['id']}"
    assert_problem(movies.patch(url, json={"title": None}, headers=auth), 422, "title")
    assert_problem(movies.patch(url, json={"title": ""}, headers=auth), 422, "title")
    assert_problem(movies.patch(url, json={"created_at": "x"}, headers=auth), 422, "created_at")


@pytest.mark.parametrize(
    "raw", [b"{", b"[1,", b"nope", b"", b'{"title": NaN}', b'{"title": "\x00"}']
)
def test_malformed_json_is_400(movies: FlaskClient, auth: dict[str, str], raw: bytes) -> None:
    response = movies.post("/movies", data=raw, content_type="application/json", headers=auth)
    assert_problem(response, 400)


def test_invalid_utf8_is_400(movies: FlaskClient, auth: dict[str, str]) -> None:
    raw = b'{"title": "\xff\xfe broken"}'
    response = movies.post("/movies", data=raw, content_type="application/json", headers=auth)
    assert "UTF-8" in assert_problem(response, 400)["detail"]


def test_non_object_json_is_422(movies: FlaskClient, auth: dict[str, str]) -> None:
    assert_problem(movies.post("/movies", json=["title"], headers=auth), 422)


def test_lone_surrogate_is_422(movies: FlaskClient, auth: dict[str, str]) -> None:
    raw = b'{"title": "\\ud800"}'
    response = movies.post("/movies", data=raw, content_type="application/json", headers=auth)
    assert_problem(response, 422)


def test_wrong_content_type_is_415(movies: FlaskClient, auth: dict[str, str]) -> None:
    response = movies.post(
        "/movies", data="title=x", headers=auth, content_type="application/x-www-form-urlencoded"
    )
    assert_problem(response, 415)
    response = movies.post("/movies", data=b"{}", headers=auth)
    assert_problem(response, 415)


def test_oversized_body_is_413(movies: FlaskClient, auth: dict[str, str]) -> None:
    big = json.dumps({"title": "x", "synopsis": "가" * 1_500_000})  # 4.5 MB (ASCII-escaped)
    assert_problem(
        movies.post("/movies", data=big, content_type="application/json", headers=auth), 413
    )


def test_sql_injection_strings_are_stored_byte_for_byte(
    movies: FlaskClient, auth: dict[str, str]
) -> None:
    nasty = "'; DROP TABLE movies; -- \\x00 %_ \" ` $$ 𝄞 영화"
    movie = create(movies, auth, title=nasty, director="Robert'); DROP TABLE x;--")
    stored = movies.get(f"/movies/{movie['id']}").get_json()
    assert stored["title"] == nasty
    assert stored["director"] == "Robert'); DROP TABLE x;--"
    found = movies.get("/movies", query_string={"q": "%_"}).get_json()["items"]
    assert [m["id"] for m in found] == [movie["id"]]


# --- auth and CORS ----------------------------------------------------------------------------


def test_writes_need_a_key_and_reads_do_not(movies: FlaskClient, auth: dict[str, str]) -> None:
    assert_problem(movies.post("/movies", json={"title": "x"}), 401)
    assert_problem(movies.post("/movies", json={"title": "x"}, headers={"X-API-Key": "nope"}), 403)
    movie = create(movies, auth)
    assert_problem(movies.delete(f"/movies/{movie['id']}"), 401)
    assert_problem(
        movies.patch(f"/movies/{movie['id']}", json={}, headers={"X-API-Key": "test-key-2"}), 403
    )
    assert movies.get(f"/movies/{movie['id']}").status_code == 200


def test_cors_allows_configured_origins_only(movies: FlaskClient) -> None:
    allowed = movies.get("/movies", headers={"Origin": "https://app.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example"
    other = movies.get("/movies", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    preflight = movies.options(
        "/movies",
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 204
    assert "X-API-Key" in preflight.headers["Access-Control-Allow-Headers"]


# --- listing ----------------------------------------------------------------------------------


def test_list_is_newest_first_and_pages_with_a_cursor(
    movies: FlaskClient, auth: dict[str, str]
) -> None:
    ids = [create(movies, auth, title=f"영화 {i}")["id"] for i in range(5)]
    page = movies.get("/movies?limit=2").get_json()
    assert [m["id"] for m in page["items"]] == ids[::-1][:2]
    seen = [m["id"] for m in page["items"]]
    while page["next_cursor"]:
        page = movies.get(
            "/movies", query_string={"limit": 2, "cursor": page["next_cursor"]}
        ).get_json()
        seen += [m["id"] for m in page["items"]]
    assert seen == ids[::-1]


@pytest.mark.parametrize(
    "sort", ["title", "-title", "release_date", "-release_date", "created_at", "-created_at"]
)
def test_every_sort_pages_through_all_rows_once(
    movies: FlaskClient, auth: dict[str, str], sort: str
) -> None:
    dates = ["2001-01-01", None, "1999-05-05", "2001-01-01", None, "2020-02-02", "1999-05-05"]
    titles = ["다", "가", "나", "가", "라", "Ab", "ab"]
    for title, day in zip(titles, dates, strict=True):
        create(movies, auth, title=title, release_date=day)
    seen, cursor = [], None
    while True:
        query = {"limit": 3, "sort": sort, **({"cursor": cursor} if cursor else {})}
        page = movies.get("/movies", query_string=query).get_json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len({m["id"] for m in seen}) == len(titles) == len(seen)
    key = sort.lstrip("-")
    values = [(m[key] or "") for m in seen]
    assert values == sorted(values, reverse=sort.startswith("-"))


def test_the_longest_titles_page_by_title(movies: FlaskClient, auth: dict[str, str]) -> None:
    for mark in "가나다":
        create(movies, auth, title=mark * 199 + "😀")  # 4-byte characters, 200 in all
    page = movies.get("/movies?limit=1&sort=title").get_json()
    seen = [page["items"][0]["title"][0]]
    while page["next_cursor"]:
        query = {"limit": 1, "sort": "title", "cursor": page["next_cursor"]}
        page = movies.get("/movies", query_string=query).get_json()
        seen.append(page["items"][0]["title"][0])
    assert seen == ["가", "나", "다"]


def test_pagination_is_stable_under_concurrent_inserts(
    movies: FlaskClient, auth: dict[str, str]
) -> None:
    from tests.support import function_client

    before = {create(movies, auth, title=f"기존 {i}")["id"] for i in range(30)}
    stop = threading.Event()

    def insert_more() -> None:
        writer = function_client("movies")
        while not stop.is_set():
            writer.post("/movies", json={"title": "새 영화"}, headers=auth)

    thread = threading.Thread(target=insert_more)
    thread.start()
    try:
        seen, cursor = [], None
        for sort in ("-created_at",):
            while True:
                query = {"limit": 4, "sort": sort, **({"cursor": cursor} if cursor else {})}
                page = movies.get("/movies", query_string=query).get_json()
                seen += [m["id"] for m in page["items"]]
                cursor = page["next_cursor"]
                if not cursor:
                    break
    finally:
        stop.set()
        thread.join()
    assert len(seen) == len(set(seen)), "a row was repeated"
    assert before <= set(seen), "a row was skipped"


def test_filters_and_korean_search(movies: FlaskClient, auth: dict[str, str]) -> None:
    a = create(movies, auth, title="괴물", director="봉준호", genre="SF", release_date="2006-07-27")
    b = create(
        movies,
        auth,
        title="살인의 추억",
        director="봉준호",
        genre="범죄",
        release_date="2003-04-25",
    )
    c = create(
        movies, auth, title="괴물들", director="김백준", genre="범죄", release_date="2018-03-14"
    )

    def ids(**query: str | int) -> set[int]:
        response = movies.get("/movies", query_string=query)
        assert response.status_code == 200, response.get_data(as_text=True)
        return {m["id"] for m in response.get_json()["items"]}

    assert ids(q="괴물") == {a["id"], c["id"]}
    assert ids(q="추억") == {b["id"]}
    assert ids(director="봉준호") == {a["id"], b["id"]}
    assert ids(genre="sf") == {a["id"]}
    assert ids(year=2003) == {b["id"]}
    assert ids(q="괴물", genre="범죄") == {c["id"]}
    assert ids(q="없는") == set()


@pytest.mark.parametrize(
    "query",
    [
        {"limit": 0},
        {"limit": 101},
        {"limit": "x"},
        {"sort": "rating"},
        {"year": "abc"},
        {"year": "0"},
        {"year": "10000"},
        {"unknown": 1},
        {"q": ""},
    ],
)
def test_bad_list_queries_are_422(movies: FlaskClient, query: dict[str, Any]) -> None:
    assert_problem(movies.get("/movies", query_string=query), 422)


@pytest.mark.parametrize("cursor", ["garbage", "eyJ4IjoxfQ", "W251bGwsIDEsICJ4Il0"])
def test_bad_cursors_are_400(movies: FlaskClient, cursor: str) -> None:
    assert_problem(movies.get("/movies", query_string={"cursor": cursor}), 400)


# every forged cursor the hostile review found answering 500: base64 JSON without a signature
FORGED_UNSIGNED = [
    "WyJ4IiwgMSwgImQxMjBlNDQ5MGMwZGQ5NzUiXQ",  # ["x", 1, "d120e4490c0dd975"]: a text key for a date
    _b64(json.dumps(["2024-01-01 00:00:00+00", 2**63, "x"])),
    _b64(json.dumps(["2024-01-01 00:00:00+00", True, "x"])),
]


@pytest.mark.parametrize("cursor", FORGED_UNSIGNED)
def test_unsigned_cursors_are_400(movies: FlaskClient, auth: dict[str, str], cursor: str) -> None:
    create(movies, auth)
    for sort in ("-created_at", "title", "release_date"):
        query = {"cursor": cursor, "sort": sort}
        assert_problem(movies.get("/movies", query_string=query), 400)


@pytest.mark.parametrize(
    ("sort", "key", "row_id"),
    [
        ("-created_at", "x", 1),
        ("-created_at", "2024-01-01 00:00:00", 1),  # no time zone
        ("release_date", "x", 1),
        ("release_date", "infinity-ish", 1),
        ("title", "nul\u0000byte", 1),
        ("title", "t" * 1001, 1),
        ("title", "ok", 2**63),
        ("title", "ok", 0),
        ("title", "ok", True),
        ("title", "ok", 1.5),
        ("title", 5, 1),
        ("title", None, 1),
    ],
)
def test_signed_cursors_with_bad_parts_are_400(
    movies: FlaskClient, sort: str, key: Any, row_id: Any
) -> None:
    """Signed with the real key, so only the validation of each decoded part refuses them."""
    from shared import pagination
    from shared.movies import list_movies_listing
    from shared.schemas.movies import MovieListQuery

    listing = list_movies_listing(MovieListQuery(sort=sort))
    forged = pagination.encode(pagination.Position(key, row_id), listing)
    assert_problem(movies.get("/movies", query_string={"cursor": forged, "sort": sort}), 400)


# issue 23: each of these answered 500 and broke the pooled connection for the next request
UNSTORABLE_KEYS = [
    ("-created_at", "0001-01-01 00:00:00+14"),  # 1 BC in UTC
    ("created_at", "9999-12-31 23:00:00-14"),  # year 10000 in UTC
    ("title", "lone \ud800 surrogate"),
]


def test_signed_cursors_the_database_cannot_take_are_400_and_the_pool_stays_clean(
    movies: FlaskClient, auth: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared import pagination
    from shared.movies import list_movies_listing
    from shared.schemas.movies import MovieListQuery
    from tests.conftest import fresh_instance

    monkeypatch.setenv("DB_POOL_SIZE", "1")  # every request reuses the one connection
    monkeypatch.setenv("DB_MAX_OVERFLOW", "0")
    fresh_instance()
    create(movies, auth)
    for sort, key in UNSTORABLE_KEYS:
        listing = list_movies_listing(MovieListQuery(sort=sort))
        payload = json.dumps([key, 1]).encode()  # ASCII escapes carry the lone surrogate
        signature = pagination._signature(payload, listing)  # signed with the real key
        cursor = f"{pagination._b64(payload)}.{pagination._b64(signature)}"
        assert_problem(movies.get("/movies", query_string={"cursor": cursor, "sort": sort}), 400)
    for _ in range(100):
        response = movies.get("/movies")
        assert response.status_code == 200 and len(response.get_json()["items"]) == 1


def test_a_tampered_or_foreign_cursor_is_400(
    movies: FlaskClient, auth: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(3):
        create(movies, auth, title=f"m{i}")
    cursor = movies.get("/movies?limit=1").get_json()["next_cursor"]
    payload, signature = cursor.split(".")
    tampered = _b64(json.dumps([*json.loads(_unb64(payload))[:1], 1]))
    assert_problem(movies.get("/movies", query_string={"cursor": f"{tampered}.{signature}"}), 400)
    monkeypatch.setenv("CURSOR_SECRET", "another-deployment-key")
    from shared.settings import get_settings

    get_settings.cache_clear()
    assert_problem(movies.get("/movies", query_string={"cursor": cursor}), 400)


def test_a_cursor_from_another_listing_is_400(movies: FlaskClient, auth: dict[str, str]) -> None:
    for i in range(3):
        create(movies, auth, title=f"m{i}")
    cursor = movies.get("/movies?limit=1&sort=title").get_json()["next_cursor"]
    assert_problem(movies.get("/movies", query_string={"cursor": cursor, "sort": "-title"}), 400)


def test_repeated_query_parameter_is_400(movies: FlaskClient) -> None:
    assert_problem(movies.get("/movies?limit=1&limit=2"), 400)


# --- cascade, health, openapi -----------------------------------------------------------------


def test_delete_cascades_to_reviews_and_aggregates(
    movies: FlaskClient, auth: dict[str, str], database: str
) -> None:
    import sqlalchemy as sa

    from shared import db

    movie = create(movies, auth)
    with db.transaction() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO reviews (movie_id, author, content, label, positivity, confidence,"
                " rating, model_version) VALUES (:m, 'a', '좋아요', 'positive', 0.9, 0.9, 9, 't')"
            ),
            {"m": movie["id"]},
        )
    with db.read() as conn:  # the aggregates move at commit
        assert (
            conn.execute(
                sa.text("SELECT review_count FROM movie_ratings WHERE movie_id = :m"),
                {"m": movie["id"]},
            ).scalar()
            == 1
        )
    assert movies.delete(f"/movies/{movie['id']}", headers=auth).status_code == 204
    with db.transaction() as conn:
        for table in ("reviews", "movie_ratings", "movie_rating_daily"):
            count = conn.execute(
                sa.text(f"SELECT count(*) FROM {table} WHERE movie_id = :m"), {"m": movie["id"]}
            ).scalar()
            assert count == 0, table


def test_health_and_readiness(movies: FlaskClient) -> None:
    assert movies.get("/healthz").get_json() == {"status": "ok"}
    assert movies.get("/readyz").get_json() == {"status": "ready"}


def test_openapi_describes_every_operation_and_its_errors(movies: FlaskClient) -> None:
    doc = movies.get("/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    ops = doc["paths"]
    assert {"get", "post"} <= ops["/movies"].keys()
    assert {"get", "patch", "delete"} <= ops["/movies/{movie_id}"].keys()
    post = ops["/movies"]["post"]
    assert {"201", "400", "401", "403", "413", "415", "422"} <= post["responses"].keys()
    assert "MovieCreate" in doc["components"]["schemas"]
    assert "Problem" in doc["components"]["schemas"]
    params = {p["name"] for p in ops["/movies"]["get"]["parameters"]}
    assert {"limit", "cursor", "q", "director", "genre", "year", "sort"} <= params
