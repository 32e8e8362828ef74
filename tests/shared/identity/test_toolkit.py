"""The Identity Toolkit REST client against the Auth emulator; Identity Platform's own
answers the emulator never gives (throttling, a bad API key) from a stand-in of its edge."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import flask
import pytest

from infra.localpg import free_port
from shared import identity
from shared.errors import (
    ApiError,
    Conflict,
    IdentityUnavailable,
    TooManyRequests,
    Unauthorized,
    ValidationFailed,
)
from shared.identity.toolkit import IdentityToolkit, get_toolkit
from tests.support.identity import PASSWORD, Accounts
from tests.support.web import serve


@pytest.fixture
def toolkit(users: Accounts) -> IdentityToolkit:
    return get_toolkit()


def test_sign_up_then_sign_in(toolkit: IdentityToolkit) -> None:
    made = toolkit.sign_up("new@example.com", PASSWORD, display_name="새 관객")
    assert (made.email, made.display_name, made.expires_in) == ("new@example.com", "새 관객", 3600)
    signed_in = toolkit.sign_in("new@example.com", PASSWORD)
    assert signed_in.uid == made.uid
    seen = identity.verify_id_token(signed_in.id_token, check_revoked=True)
    assert (seen.uid, seen.display_name, seen.role) == (made.uid, "새 관객", "member")


def test_an_email_is_taken_once(toolkit: IdentityToolkit) -> None:
    toolkit.sign_up("twice@example.com", PASSWORD)
    with pytest.raises(Conflict, match="already exists") as raised:
        toolkit.sign_up("twice@example.com", PASSWORD)
    assert raised.value.status == 409


@pytest.mark.parametrize(
    ("email", "password", "field"),
    [("weak@example.com", "12345", "password"), ("not-an-email", PASSWORD, "email"),
     ("", PASSWORD, "email"), ("empty@example.com", "", "password")],
)  # fmt: skip
def test_bad_sign_up_fields_are_422(
    toolkit: IdentityToolkit, email: str, password: str, field: str
) -> None:
    with pytest.raises(ValidationFailed) as raised:
        toolkit.sign_up(email, password)
    assert raised.value.status == 422
    assert [error["field"] for error in raised.value.errors or []] == [field]


@pytest.mark.parametrize("protected", [False, True])
def test_wrong_password_and_unknown_email_look_alike(
    users: Accounts, toolkit: IdentityToolkit, protected: bool
) -> None:
    """INVALID_PASSWORD and EMAIL_NOT_FOUND (the emulator's default) and
    INVALID_LOGIN_CREDENTIALS (email-enumeration protection, on in new projects)."""
    users.member()
    users.emulator.protect_email_enumeration(protected)
    try:
        details = set()
        wrong = [("member@example.com", "wrong-password"), ("no@example.com", PASSWORD)]
        for email, password in wrong:
            with pytest.raises(Unauthorized) as raised:
                toolkit.sign_in(email, password)
            details.add(raised.value.detail)
    finally:
        users.emulator.protect_email_enumeration(False)
    assert details == {"wrong email or password"}


def test_a_disabled_account_cannot_sign_in(users: Accounts, toolkit: IdentityToolkit) -> None:
    user = users.disabled()
    with pytest.raises(Unauthorized, match="disabled"):
        toolkit.sign_in(user.email, user.password)


def test_rename_shows_in_the_next_token(users: Accounts, toolkit: IdentityToolkit) -> None:
    member = users.member()
    toolkit.update_display_name(member.id_token, "이름 바꾼 관객")
    assert identity.verify_id_token(member.id_token).display_name == "관객"  # issued before
    refreshed = toolkit.refresh(member.refresh_token)
    assert refreshed.uid == member.uid
    assert identity.verify_id_token(refreshed.id_token).display_name == "이름 바꾼 관객"


def test_a_bad_refresh_token_is_refused(toolkit: IdentityToolkit) -> None:
    with pytest.raises(Unauthorized, match="sign in again"):
        toolkit.refresh("garbage")


def test_an_account_deletes_itself(users: Accounts, toolkit: IdentityToolkit) -> None:
    member = users.member()
    toolkit.delete_account(member.id_token)
    with pytest.raises(Unauthorized, match="wrong email or password"):
        toolkit.sign_in(member.email, member.password)
    with pytest.raises(Unauthorized, match="sign in again"):
        toolkit.delete_account(member.id_token)


# --- Identity Platform's answers the emulator does not give ---------------------------


@dataclass
class IdentityPlatform:
    """A stand-in that answers each call with the next queued (status, JSON body)."""

    host: str = ""
    answers: list[tuple[int, object]] = field(default_factory=list)

    def client(self) -> IdentityToolkit:
        return IdentityToolkit("key", self.host, timeout=5)


@pytest.fixture
def identity_platform() -> Iterator[IdentityPlatform]:
    stand_in = IdentityPlatform()
    app = flask.Flask("identity-platform")

    @app.post("/<path:method>")
    def answer(method: str) -> flask.Response:
        status, body = stand_in.answers.pop(0)
        return flask.Response(flask.json.dumps(body), status, mimetype="application/json")

    with serve(app) as url:
        stand_in.host = url.removeprefix("http://")
        yield stand_in


def _error(message: str, status: int = 400) -> tuple[int, object]:
    return status, {"error": {"code": status, "message": message, "errors": []}}


THROTTLED = "TOO_MANY_ATTEMPTS_TRY_LATER : Access to this account has been temporarily disabled"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (_error(THROTTLED), TooManyRequests),
        (_error("API key not valid. Please pass a valid API key."), IdentityUnavailable),
        (_error("OPERATION_NOT_ALLOWED"), IdentityUnavailable),
        (_error("INTERNAL_ERROR", 500), IdentityUnavailable),
        ((502, "<html>bad gateway</html>"), IdentityUnavailable),
        ((200, ["not", "an", "object"]), IdentityUnavailable),
    ],
)
def test_identity_platform_refusals(
    identity_platform: IdentityPlatform, answer: tuple[int, object], expected: type[ApiError]
) -> None:
    identity_platform.answers.append(answer)
    with pytest.raises(expected) as raised:
        identity_platform.client().sign_in("member@example.com", PASSWORD)
    assert raised.value.status == (429 if expected is TooManyRequests else 503)


@pytest.mark.parametrize("code", ["TOKEN_EXPIRED", "USER_DISABLED", "USER_NOT_FOUND"])
def test_a_revoked_refresh_token_is_refused(identity_platform: IdentityPlatform, code: str) -> None:
    """Identity Platform refuses a refresh token once the account's sessions are revoked
    (TOKEN_EXPIRED); the emulator keeps refreshing it, issuing tokens from the current
    account record (so a revoked account's new tokens carry its new claims)."""
    identity_platform.answers.append(_error(code))
    with pytest.raises(Unauthorized):
        identity_platform.client().refresh("a-refresh-token")


def test_throttling_says_when_to_retry(identity_platform: IdentityPlatform) -> None:
    identity_platform.answers.append(_error("TOO_MANY_ATTEMPTS_TRY_LATER"))
    with pytest.raises(TooManyRequests) as raised:
        identity_platform.client().sign_in("a@example.com", PASSWORD)
    assert raised.value.headers == {"Retry-After": "60"}


def test_unreachable_identity_platform_is_an_outage() -> None:
    client = IdentityToolkit("key", f"127.0.0.1:{free_port()}", timeout=2)
    with pytest.raises(IdentityUnavailable):
        client.sign_in("member@example.com", PASSWORD)


def test_production_urls_and_key() -> None:
    client = IdentityToolkit("the-web-api-key", None, timeout=5)
    assert client._toolkit == "https://identitytoolkit.googleapis.com/v1"
    assert client._secure_token == "https://securetoken.googleapis.com/v1"
    assert client._query == "key=the-web-api-key"
