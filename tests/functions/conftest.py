from __future__ import annotations

import pytest

from tests.support import function_client


@pytest.fixture
def movies(database: str):
    return function_client("movies")


@pytest.fixture
def reviews(database: str):
    return function_client("reviews")


@pytest.fixture
def movie_id(movies, auth) -> int:
    response = movies.post("/movies", json={"title": "리뷰용 영화"}, headers=auth)
    assert response.status_code == 201
    return int(response.get_json()["id"])
