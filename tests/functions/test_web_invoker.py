"""The console's ID tokens for private functions (public_invoker = false, API_ID_TOKENS set).

The functions are the real ones over HTTP, each behind a tap that records what reached it;
the only fake is the instance's metadata server (tests/support/metadata_server.py), which
issues tokens signed by a test key, so each recorded token is verified here: the right
audience (the function's URL), Google's issuer, the console's service account. The user's
session cookie travels beside it, in `Authorization`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.wrappers import Request

from shared.settings import get_settings
from shared.web import invoker
from tests.conftest import fresh_instance
from tests.support import function_client
from tests.support.google_edge import SigningKey
from tests.support.identity import Accounts
from tests.support.metadata_server import (
    SERVICE_ACCOUNT,
    MetadataServer,
    metadata_server,
    use_metadata_server,
)
from tests.support.web import (
    API_FUNCTIONS,
    api_env,
    function_app,
    page,
    review_form,
    serve,
    signed_in,
)


@dataclass
class Tap:
    """A WSGI wrapper recording the credentials of each request before the function runs."""

    app: Any
    seen: list[tuple[str, str | None, str | None]] = field(default_factory=list)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        invoking = request.headers.get(invoker.HEADER)
        self.seen.append((request.path, invoking, request.headers.get("Authorization")))
        return self.app(environ, start_response)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def tapped() -> Iterator[dict[str, tuple[str, Tap]]]:
    """movies, reviews and ratings over HTTP, each behind a Tap: {name: (url, tap)}."""
    with ExitStack() as stack:
        taps = {name: Tap(function_app(name)) for name in API_FUNCTIONS}
        yield {name: (stack.enter_context(serve(tap)), tap) for name, tap in taps.items()}


@pytest.fixture
def metadata(signing_key: SigningKey, monkeypatch: pytest.MonkeyPatch) -> Iterator[MetadataServer]:
    with metadata_server(signing_key) as server:
        use_metadata_server(monkeypatch, server)
        yield server


@pytest.fixture
def console(
    database: str,
    users: Accounts,
    tapped: dict[str, tuple[str, Tap]],
    metadata: MetadataServer,
    monkeypatch: pytest.MonkeyPatch,
) -> FlaskClient:
    """The console calling the tapped functions, sending ID tokens (as with public_invoker
    = false); every tap's record starts empty."""
    for name, value in api_env({name: url for name, (url, _tap) in tapped.items()}).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("API_ID_TOKENS", "true")
    for _url, tap in tapped.values():
        tap.seen.clear()
    fresh_instance()
    return function_client("web")


def recorded(tapped: dict[str, tuple[str, Tap]]) -> Iterator[tuple[str, str, str, Any]]:
    for name, (url, tap) in tapped.items():
        for path, invoking, authorization in tap.seen:
            yield name, url, path, (invoking, authorization)


def movie_id(tapped: dict[str, tuple[str, Tap]], auth: dict[str, str]) -> int:
    import requests

    url = tapped["movies"][0]
    response = requests.post(f"{url}/movies", json={"title": "영화"}, headers=auth, timeout=10)
    return int(response.json()["id"])


def test_every_call_carries_a_token_for_its_function_fetched_once(
    console: FlaskClient,
    tapped: dict[str, tuple[str, Tap]],
    metadata: MetadataServer,
    auth: dict[str, str],
) -> None:
    film = movie_id(tapped, auth)
    for _url, tap in tapped.values():
        tap.seen.clear()
    for _ in range(3):
        assert console.get(f"/films/{film}").status_code == 200  # four calls, three functions
    calls = list(recorded(tapped))
    assert {name for name, *_ in calls} == set(API_FUNCTIONS)
    for name, url, path, (invoking, authorization) in calls:
        assert invoking is not None and invoking.startswith("Bearer "), (name, path)
        claims = metadata.verify(invoking.removeprefix("Bearer "), audience=url)
        assert claims["email"] == SERVICE_ACCOUNT
        assert authorization is None  # an anonymous visitor: no user credential
    assert dict(metadata.issued) == {url: 1 for url, _tap in tapped.values()}  # cached


def test_the_users_session_travels_beside_the_token(
    console: FlaskClient,
    users: Accounts,
    tapped: dict[str, tuple[str, Tap]],
    metadata: MetadataServer,
    auth: dict[str, str],
) -> None:
    film = movie_id(tapped, auth)
    member = signed_in(console, users.member())
    data = review_form(member, film, "정말 재미있는 영화였어요")
    cookie = member.get_cookie("__Host-session")
    assert cookie is not None
    tapped["reviews"][1].seen.clear()
    response = member.post(f"/films/{film}/reviews", data=data)
    (write,) = [seen for seen in tapped["reviews"][1].seen if seen[0] == "/reviews"]
    _path, invoking, authorization = write
    assert authorization == f"Bearer {cookie.value}"  # the user's own credential
    assert invoking is not None
    metadata.verify(invoking.removeprefix("Bearer "), audience=tapped["reviews"][0])
    assert response.status_code == 303  # and the function honours the user's identity


def test_a_token_near_its_expiry_is_fetched_again(
    console: FlaskClient,
    tapped: dict[str, tuple[str, Tap]],
    metadata: MetadataServer,
) -> None:
    metadata.lifetime = int(invoker.REFRESH_BEFORE_SECONDS) + 2
    assert console.get("/").status_code == 200  # the home page calls ratings only
    ratings = tapped["ratings"][0]
    assert metadata.issued[ratings] == 1
    assert console.get("/").status_code == 200
    assert metadata.issued[ratings] == 1  # still more than REFRESH_BEFORE_SECONDS to live
    time.sleep(2.1)
    assert console.get("/").status_code == 200
    assert metadata.issued[ratings] == 2


def test_no_token_no_call_and_a_friendly_503(
    console: FlaskClient, tapped: dict[str, tuple[str, Tap]], metadata: MetadataServer
) -> None:
    metadata.up = False
    response = console.get("/films")
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert "잠시 후 다시" in page(response).text
    assert not tapped["movies"][1].seen  # never called without its token


def test_public_functions_get_no_token(
    console: FlaskClient,
    tapped: dict[str, tuple[str, Tap]],
    metadata: MetadataServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("API_ID_TOKENS")
    get_settings.cache_clear()
    assert console.get("/films").status_code == 200
    assert [invoking for *_rest, (invoking, _a) in recorded(tapped)] == [None]
    assert not metadata.issued
