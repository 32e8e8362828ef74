"""A client of the Identity Toolkit REST API: what a browser's Firebase SDK does, done by the
server (the console signs users up and in without any JavaScript).

Against FIREBASE_AUTH_EMULATOR_HOST when set, https://identitytoolkit.googleapis.com and
https://securetoken.googleapis.com otherwise; every call carries the web API key. Errors
become our hierarchy: a wrong email or password is one 401 whichever way Identity Platform
says it (with email-enumeration protection it cannot tell them apart), an email already
taken 409, a weak password or a bad email 422, throttling 429, anything else 503.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import urllib3

from shared.errors import (
    ApiError,
    Conflict,
    IdentityUnavailable,
    TooManyRequests,
    Unauthorized,
    ValidationFailed,
)
from shared.identity.failures import ACCOUNT_DISABLED
from shared.lazy import Lazy
from shared.settings import Need, get_settings

log = logging.getLogger("shared.identity")
IDENTITY_TOOLKIT = "identitytoolkit.googleapis.com/v1"
SECURE_TOKEN = "securetoken.googleapis.com/v1"  # noqa: S105  (a host, not a secret)
THROTTLED_RETRY_AFTER = 60  # Identity Platform does not say how long; a minute is polite

WRONG_CREDENTIALS = "wrong email or password"
SIGN_IN_AGAIN = "the sign-in is no longer valid: sign in again"
# Identity Platform's error codes (the first word of error.message), by meaning
_REFUSED: dict[str, tuple[type[ApiError], str]] = {
    "INVALID_PASSWORD": (Unauthorized, WRONG_CREDENTIALS),
    "INVALID_LOGIN_CREDENTIALS": (Unauthorized, WRONG_CREDENTIALS),  # enumeration protection
    "EMAIL_NOT_FOUND": (Unauthorized, WRONG_CREDENTIALS),
    "USER_DISABLED": (Unauthorized, ACCOUNT_DISABLED),
    "INVALID_ID_TOKEN": (Unauthorized, SIGN_IN_AGAIN),
    "TOKEN_EXPIRED": (Unauthorized, SIGN_IN_AGAIN),
    "USER_NOT_FOUND": (Unauthorized, SIGN_IN_AGAIN),
    "INVALID_REFRESH_TOKEN": (Unauthorized, SIGN_IN_AGAIN),
    "CREDENTIAL_TOO_OLD_LOGIN_AGAIN": (Unauthorized, SIGN_IN_AGAIN),
    "EMAIL_EXISTS": (Conflict, "an account with this email already exists"),
    "INVALID_IDP_RESPONSE": (Unauthorized, "the identity provider's answer was refused"),
}
_INVALID_FIELDS = {  # code -> (field, message)
    "WEAK_PASSWORD": ("password", "the password is too weak (at least 6 characters)"),
    "MISSING_PASSWORD": ("password", "a password is required"),
    "INVALID_EMAIL": ("email", "not a valid email address"),
    "MISSING_EMAIL": ("email", "an email address is required"),
    "INVALID_DISPLAY_NAME": ("display_name", "not a valid display name"),
}


@dataclass(frozen=True, slots=True)
class SignedIn:
    """The tokens of a sign-in (or a refresh: email and display name are then unknown)."""

    uid: str
    id_token: str
    refresh_token: str
    expires_in: int  # seconds the ID token lives
    email: str | None = None
    display_name: str | None = None


class IdentityToolkit:
    def __init__(self, api_key: str, emulator_host: str | None, timeout: float) -> None:
        scheme_host = f"http://{emulator_host}/" if emulator_host else "https://"
        self._toolkit = scheme_host + IDENTITY_TOOLKIT
        self._secure_token = scheme_host + SECURE_TOKEN
        self._query = urlencode({"key": api_key})
        self._timeout = urllib3.Timeout(connect=min(3.0, timeout), read=timeout)
        self._pool = urllib3.PoolManager(num_pools=2, maxsize=8, block=False)

    def sign_up(self, email: str, password: str, display_name: str | None = None) -> SignedIn:
        body: dict[str, Any] = {"email": email, "password": password, "returnSecureToken": True}
        if display_name:
            body["displayName"] = display_name
        return _signed_in(self._call("accounts:signUp", body))

    def sign_in(self, email: str, password: str) -> SignedIn:
        body = {"email": email, "password": password, "returnSecureToken": True}
        return _signed_in(self._call("accounts:signInWithPassword", body))

    def sign_in_with_google(self, google_id_token: str, request_uri: str) -> SignedIn:
        """Sign in (or up: a new account, no role) with an ID token Google issued to the
        console's OAuth client; Identity Platform checks it. `request_uri`: where Google sent
        the browser back. An email already used by an unverified account of another kind
        needs that account's own sign-in first (409)."""
        post_body = urlencode({"id_token": google_id_token, "providerId": "google.com"})
        body = {"postBody": post_body, "requestUri": request_uri, "returnSecureToken": True}
        data = self._call("accounts:signInWithIdp", body)
        if data.get("needConfirmation") or "idToken" not in data:
            raise Conflict("the email belongs to an account that signs in another way")
        return _signed_in(data)

    def update_display_name(self, id_token: str, display_name: str) -> None:
        """Rename the signed-in account. Tokens issued before keep the old name; refresh()
        gives an ID token with the new one (the emulator returns no tokens here)."""
        self._call("accounts:update", {"idToken": id_token, "displayName": display_name})

    def delete_account(self, id_token: str) -> None:
        """The signed-in account deletes itself (a recent sign-in is needed)."""
        self._call("accounts:delete", {"idToken": id_token})

    def refresh(self, refresh_token: str) -> SignedIn:
        """New tokens from a refresh token (refused once the account's sessions are revoked)."""
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        data = self._post(
            f"{self._secure_token}/token?{self._query}",
            urlencode(form).encode(),
            "application/x-www-form-urlencoded",
        )
        return SignedIn(
            uid=data["user_id"],
            id_token=data["id_token"],
            refresh_token=data["refresh_token"],
            expires_in=int(data["expires_in"]),
        )

    def _call(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        url = f"{self._toolkit}/{method}?{self._query}"
        return self._post(url, json.dumps(body).encode(), "application/json")

    def _post(self, url: str, payload: bytes, content_type: str) -> dict[str, Any]:
        try:
            response = self._pool.request(
                "POST",
                url,
                body=payload,
                headers={"Content-Type": content_type},
                timeout=self._timeout,
                retries=False,
            )
        except urllib3.exceptions.HTTPError as error:
            log.warning("identity toolkit unreachable: %s", type(error).__name__)
            raise IdentityUnavailable("identity service unavailable; retry shortly") from None
        data = _json(response.data)
        if response.status >= 400 or data is None:
            raise _refusal(response.status, data)
        return data


def _json(raw: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _refusal(status: int, data: dict[str, Any] | None) -> ApiError:
    error = (data or {}).get("error")
    message = str(error.get("message", "")) if isinstance(error, dict) else ""
    code = message.split(":", 1)[0].split(" ", 1)[0].strip()
    if code in _REFUSED:
        kind, detail = _REFUSED[code]
        return kind(detail)
    if code in _INVALID_FIELDS:
        field, text = _INVALID_FIELDS[code]
        problem = [{"field": field, "message": text, "type": code.lower()}]
        return ValidationFailed(text, errors=problem)
    if code.startswith("TOO_MANY_ATTEMPTS_TRY_LATER"):
        return TooManyRequests(
            "too many attempts: try again later", retry_after=THROTTLED_RETRY_AFTER
        )
    # an invalid API key, sign-in disabled, a quota, an outage: not the user's doing
    log.warning("identity toolkit refused (HTTP %s): %s", status, message or "no message")
    return IdentityUnavailable("identity service unavailable; retry shortly")


def _signed_in(data: dict[str, Any]) -> SignedIn:
    return SignedIn(
        uid=data["localId"],
        id_token=data["idToken"],
        refresh_token=data["refreshToken"],
        expires_in=int(data["expiresIn"]),
        email=data.get("email"),
        display_name=data.get("displayName") or None,
    )


def get_toolkit() -> IdentityToolkit:
    """The instance's client; SettingsError without Need.IDENTITY and Need.SIGN_IN (the web
    API key), or with the emulator switch where it is not safe."""
    return _client.get()


def _make_client() -> IdentityToolkit:
    settings = get_settings().require(Need.IDENTITY, Need.SIGN_IN, process="sign-in")
    key = settings.firebase_web_api_key
    assert key is not None  # Need.SIGN_IN
    return IdentityToolkit(
        key.get_secret_value(), settings.auth_emulator_host, settings.identity_timeout_seconds
    )


_client: Lazy[IdentityToolkit] = Lazy(_make_client, close=lambda client: client._pool.clear())


def reset() -> None:
    """Forget the client (tests switch emulators)."""
    _client.reset()
