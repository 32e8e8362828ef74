"""Every function as Cloud Run functions runs it: its bundle under functions-framework, its
Terraform environment and secrets, logged in to the database as its own IAM user."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from cloudevents.conversion import to_binary

from shared import storage
from tests.support.rehearsal import Cloud, Served
from tests.support.uploads import event_for

HTTP_FUNCTIONS = ("movies", "reviews", "ratings", "web")
DATABASE_FUNCTIONS = ("movies", "reviews", "ratings")


def get(function: Served, path: str, **params: Any) -> requests.Response:
    return requests.get(function.url + path, params=params, timeout=30)


@pytest.mark.parametrize("key", HTTP_FUNCTIONS)
def test_http_function_is_alive(served: dict[str, Served], key: str) -> None:
    assert get(served[key], "/healthz").status_code == 200


@pytest.mark.parametrize("key", DATABASE_FUNCTIONS)
def test_function_reaches_the_database_as_its_own_user(
    cloud: Cloud, served: dict[str, Served], key: str
) -> None:
    response = get(served[key], "/readyz")
    assert response.status_code == 200, (response.text, served[key].output())
    user = served[key].process.env["DB_IAM_USER"]
    assert user in cloud.sessions(), "its pooled connection should be logged in as its user"


def test_movies_writes_with_its_key_and_signs_cursors_with_its_cursor_key(
    served: dict[str, Served], catalogue: list[int], api_key: str
) -> None:
    movies = served["movies"]
    first = get(movies, "/movies", limit=1)
    assert first.status_code == 200, first.text
    cursor = first.json()["next_cursor"]
    second = get(movies, "/movies", limit=1, cursor=cursor)
    assert second.status_code == 200, second.text
    assert second.json()["items"][0]["id"] != first.json()["items"][0]["id"]
    denied = requests.post(
        f"{movies.url}/movies", json={"title": "x"}, headers={"X-API-Key": "nope"}, timeout=30
    )
    assert denied.status_code == 403


def test_reviews_scores_with_the_published_model(
    cloud: Cloud, served: dict[str, Served], catalogue: list[int], api_key: str
) -> None:
    response = requests.post(
        f"{served['reviews'].url}/reviews",
        json={
            "movie_id": catalogue[0],
            "author": "관객",
            "content": "배우들 연기가 정말 최고였어요",
        },
        headers={"X-API-Key": api_key},
        timeout=60,
    )
    assert response.status_code == 201, (response.text, served["reviews"].output())
    assert response.json()["sentiment"]["model_version"] == cloud.outputs()["model_version"]
    page = get(served["reviews"], "/reviews", movie_id=catalogue[0], limit=1)
    assert page.status_code == 200 and page.json()["items"], page.text


def test_ratings_reads_the_aggregate_the_write_moved(
    served: dict[str, Served], catalogue: list[int]
) -> None:
    test_reviews_written = get(served["reviews"], "/reviews", movie_id=catalogue[0]).json()
    rating = get(served["ratings"], f"/ratings/{catalogue[0]}")
    assert rating.status_code == 200, rating.text
    assert rating.json()["review_count"] == len(test_reviews_written["items"])
    board = get(served["ratings"], "/ratings", order="recent", limit=1)
    assert board.status_code == 200, board.text
    assert get(served["ratings"], "/ratings", order="recent", limit=1,
               cursor=board.json()["next_cursor"]).status_code == 200  # fmt: skip


def test_web_renders_pages_from_the_functions_urls(
    served: dict[str, Served], catalogue: list[int]
) -> None:
    home = get(served["web"], "/")
    assert home.status_code == 200, served["web"].output()
    page = get(served["web"], f"/films/{catalogue[1]}")
    assert page.status_code == 200 and "올드보이" in page.text, served["web"].output()


def test_upload_handler_scores_a_file_in_the_uploads_bucket(
    cloud: Cloud, served: dict[str, Served], catalogue: list[int]
) -> None:
    bucket = storage.get_client().bucket(cloud.outputs()["uploads_bucket"])
    lines = [
        {"movie_id": catalogue[2], "author": "a", "content": "정말 재미있어요. 최고의 영화!"},
        {"movie_id": catalogue[2], "author": "b", "content": "지루하고 뻔한 전개"},
        {"movie_id": 0, "author": "c", "content": "없는 영화"},
    ]
    blob = bucket.blob("rehearsal/handler.jsonl")
    blob.upload_from_string("\n".join(json.dumps(line, ensure_ascii=False) for line in lines))
    blob.reload()
    headers, body = to_binary(event_for(blob))
    handler = served["reviews-uploads"]
    delivered = requests.post(handler.url + "/", headers=headers, data=body, timeout=120)
    assert delivered.status_code < 300, handler.output()
    report = json.loads(bucket.blob("reports/rehearsal/handler.jsonl.json").download_as_bytes())
    assert (report["lines"], report["inserted"], report["rejected"]) == (3, 2, 1), report
