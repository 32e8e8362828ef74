"""Google sign-in in the console (shared/web/google.py, shared/web/views/google.py): the
OAuth flow through the console's HTTP surface, Google's OAuth server stood in for by
tests/support/google_oauth.py (the one fake), signInWithIdp on the real Auth emulator, the
real session cookie, reviews written through the real APIs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from flask.testing import FlaskClient

from infra.authemu import AuthEmulator
from shared import identity
from shared.errors import NotFound
from shared.identity import accounts
from shared.settings import Need, Settings
from shared.web import google
from shared.web.session import COOKIE
from tests.conftest import fresh_instance
from tests.support import function_client
from tests.support.google_oauth import CLIENT_SECRET, GoogleStandIn, google_oauth
from tests.support.identity import Accounts
from tests.support.web import page, review_form, session_cookie

CALLBACK = "http://localhost/login/google/callback"
POSITIVE = "정말 재미있고 감동적인 최고의 영화였어요. 배우들 연기도 완벽하고 또 보고 싶네요"


@pytest.fixture
def stand_in() -> Iterator[GoogleStandIn]:
    with google_oauth() as server:
        yield server


@pytest.fixture
def console(
    web: FlaskClient, users: Accounts, stand_in: GoogleStandIn, monkeypatch: pytest.MonkeyPatch
) -> FlaskClient:
    """The console with Google sign-in configured (against the stand-in)."""
    for name, value in stand_in.env().items():
        monkeypatch.setenv(name, value)
    fresh_instance()
    return function_client("web")


def to_google(client: FlaskClient, next_path: str | None = None) -> str:
    """Start the flow on `client`; the address of Google's consent page."""
    query = f"?{urlencode({'next': next_path})}" if next_path is not None else ""
    response = client.get(f"/login/google{query}")
    assert response.status_code == 303, response.get_data(as_text=True)
    assert client.get_cookie(google.COOKIE) is not None
    return str(response.headers["Location"])


def back_from_google(consent_page: str) -> str:
    """What Google's page does once the account holder chooses: back to the callback."""
    answer = requests.get(consent_page, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    return str(answer.headers["Location"])


def sign_in_with_google(client: FlaskClient, next_path: str | None = None) -> Any:
    return client.get(back_from_google(to_google(client, next_path)))


def refused(response: Any, status: int, message: str, client: FlaskClient) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert message in page(response).one("p", class_="form-error").text
    assert session_cookie(client) is None
    assert client.get_cookie(google.COOKIE) is None  # the flow is spent


def test_a_new_google_user_is_a_signed_in_member_who_can_review(
    console: FlaskClient, stand_in: GoogleStandIn, movie_id: int
) -> None:
    consent = urlsplit(to_google(console))
    query = parse_qs(consent.query)
    authorize = f"{consent.scheme}://{consent.netloc}{consent.path}"
    assert authorize == f"{stand_in.url}/o/oauth2/v2/auth"
    assert query["redirect_uri"] == [CALLBACK] and query["scope"] == ["openid email profile"]
    assert query["state"] != query["nonce"]
    response = console.get(back_from_google(consent.geturl()))
    assert response.status_code == 303 and response.headers["Location"] == "/"
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(COOKIE))
    assert all(flag in header for flag in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"))
    assert console.get_cookie(google.COOKIE) is None
    sent = stand_in.token_requests[0]
    assert (sent["client_secret"], sent["redirect_uri"]) == (CLIENT_SECRET, CALLBACK)
    made = accounts.find_by_email(stand_in.account.email)
    assert (made.display_name, made.role) == ("구글 관객", "member")
    home = page(console.get("/"))
    assert home.by_id("account-name").text == "구글 관객"
    form = review_form(console, movie_id, POSITIVE)
    written = console.post(f"/films/{movie_id}/reviews", data=form)
    assert written.status_code == 303, page(written).text
    assert "구글 관객" in page(console.get(f"/films/{movie_id}")).text


def test_the_same_google_user_signs_in_to_the_same_account(
    console: FlaskClient, stand_in: GoogleStandIn
) -> None:
    first, second = console, console.application.test_client()
    for client in (first, second):
        assert sign_in_with_google(client).status_code == 303
    uids = {identity.verify_session_cookie(session_cookie(c) or "").uid for c in (first, second)}
    assert len(uids) == 1


def test_next_returns_to_a_page_of_this_site_only(console: FlaskClient) -> None:
    assert sign_in_with_google(console, "/films?q=x").headers["Location"] == "/films?q=x"
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        browser = console.application.test_client()
        assert sign_in_with_google(browser, target).headers["Location"] == "/"


def test_a_state_that_is_not_the_browsers_signs_no_one_in(console: FlaskClient) -> None:
    callback = urlsplit(back_from_google(to_google(console)))
    query = {**parse_qs(callback.query), "state": ["someone-elses-state"]}
    response = console.get(f"{callback.path}?{urlencode(query, doseq=True)}")
    refused(response, 400, "다시 시도해 주세요", console)


def test_a_callback_in_another_browser_signs_no_one_in(console: FlaskClient) -> None:
    """The attacker's own code and state, sent to a victim's browser (login CSRF)."""
    callback = back_from_google(to_google(console))
    victim = console.application.test_client()
    refused(victim.get(callback), 400, "다시 시도해 주세요", victim)


def test_a_token_with_another_nonce_signs_no_one_in(
    console: FlaskClient, stand_in: GoogleStandIn
) -> None:
    stand_in.nonce = "a-replayed-token's-nonce"
    refused(sign_in_with_google(console), 400, "마치지 못했습니다", console)
    with pytest.raises(NotFound):
        accounts.find_by_email(stand_in.account.email)


def test_cancelling_on_googles_page(console: FlaskClient, stand_in: GoogleStandIn) -> None:
    stand_in.deny = True
    refused(sign_in_with_google(console), 401, "취소했습니다", console)
    assert stand_in.token_requests == []


def test_googles_token_endpoint_failing(console: FlaskClient, stand_in: GoogleStandIn) -> None:
    stand_in.token_status = 500
    refused(sign_in_with_google(console), 400, "마치지 못했습니다", console)


def test_a_disabled_account_is_refused(
    console: FlaskClient, stand_in: GoogleStandIn, auth_emulator: AuthEmulator
) -> None:
    sign_in_with_google(console)
    auth_emulator.disable(accounts.find_by_email(stand_in.account.email).uid)
    browser = console.application.test_client()
    refused(sign_in_with_google(browser), 401, "정지된 계정", browser)


def test_the_pages_offer_google_when_it_is_configured(console: FlaskClient) -> None:
    link = page(console.get("/login?next=/films")).by_id("google-sign-in")
    assert link.attr("href") == "/login/google?next=/films"
    assert "Google 계정으로 로그인" in link.text
    assert page(console.get("/signup")).by_id("google-sign-in").attr("href") == "/login/google"


def test_without_a_client_google_sign_in_is_off(web: FlaskClient) -> None:
    for path in ("/login", "/signup"):
        assert page(web.get(path)).find_all(id="google-sign-in") == []
    assert web.get("/login/google").status_code == 404
    assert web.get("/login/google/callback?code=x&state=y").status_code == 404


def test_a_client_id_needs_its_secret() -> None:
    lacking = Settings(google_sign_in_client_id="x.apps.googleusercontent.com")
    assert any("GOOGLE_SIGN_IN_CLIENT_SECRET" in p for p in lacking.missing(Need.SIGN_IN))
    complete = lacking.model_copy(update={"google_sign_in_client_secret": "s"})
    assert not [p for p in complete.missing(Need.SIGN_IN) if "GOOGLE" in p]
