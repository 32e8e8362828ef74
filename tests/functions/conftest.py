from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from shared.sentiment import reset_scorer
from shared.settings import get_settings
from tests.conftest import fresh_instance
from tests.support import function_client
from tests.support.identity import Accounts
from tests.support.uploads import create_movies, use_model
from tests.support.web import API_FUNCTIONS, api_env, function_app, serve


@pytest.fixture
def movies(database: str) -> FlaskClient:
    return function_client("movies")


@pytest.fixture
def reviews(database: str) -> FlaskClient:
    return function_client("reviews")


@pytest.fixture
def movie_id(movies: FlaskClient, auth: dict[str, str]) -> int:
    response = movies.post("/movies", json={"title": "리뷰용 영화"}, headers=auth)
    assert response.status_code == 201
    return int(response.get_json()["id"])


@pytest.fixture
def model_missing(tmp_path: Path) -> Iterator[None]:
    """This instance's MODEL_URI points at nothing; restored (and reloaded) afterwards."""
    previous = os.environ.get("MODEL_URI")
    os.environ["MODEL_URI"] = str(tmp_path / "no-such-model")
    get_settings.cache_clear()
    reset_scorer()
    yield
    if previous is None:
        os.environ.pop("MODEL_URI", None)
    else:
        os.environ["MODEL_URI"] = previous
    get_settings.cache_clear()
    reset_scorer()


@pytest.fixture
def on_upload(database: str, gcs: Any, monkeypatch: pytest.MonkeyPatch) -> FlaskClient:
    use_model(monkeypatch)
    create_movies(3)
    return function_client("reviews", target="on_upload", signature="cloudevent")


# --- the web console ------------------------------------------------------------


@pytest.fixture(scope="session")
def live_apis() -> Iterator[dict[str, str]]:
    """movies, reviews and ratings served over real HTTP (the console's backends)."""
    with ExitStack() as stack:
        yield {name: stack.enter_context(serve(function_app(name))) for name in API_FUNCTIONS}


@pytest.fixture
def web(
    database: str, live_apis: dict[str, str], users: Accounts, monkeypatch: pytest.MonkeyPatch
) -> FlaskClient:
    """The console (test client) on this test's database, calling the live APIs, signing
    users in on the Auth emulator (`users` holds this test's accounts)."""
    for name, value in api_env(live_apis).items():
        monkeypatch.setenv(name, value)
    for kind in ("WRITE", "SIGN_IN", "SIGN_UP"):
        monkeypatch.setenv(f"WEB_{kind}_RATE_LIMIT", "1000/minute")
    fresh_instance()
    return function_client("web")
