"""Google sign-in, server-side: OAuth 2.0's authorization-code flow with Google (OpenID
Connect), then Identity Platform's signInWithIdp with the ID token Google returned.

begin(): a random `state` and `nonce`, kept with the `next` path in a short-lived signed cookie
(`__Host-google-sign-in`: HttpOnly, Secure, SameSite=Lax, since the redirect back from Google
is a top-level GET, which carries Lax cookies), and the address of Google's consent page.
On the way back: pending() insists that the callback's `state` is the cookie's (no one can
sign a visitor in with a code of their own: login CSRF), exchange() trades the code for
tokens at Google's token endpoint with the client secret and insists that the ID token's
nonce is the cookie's (no replayed token). The token's signature is Identity Platform's to
check: it verifies Google's tokens itself; the console read this one from Google over TLS.
"""

from __future__ import annotations

import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

import flask
import urllib3
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response as BaseResponse

from shared.identity.verify import unverified_claims
from shared.settings import get_settings
from shared.web.session import COOKIE_ATTRIBUTES

COOKIE = "__Host-google-sign-in"
FLOW_SECONDS = 600  # time to choose an account on Google's page (and sign in there)
SCOPE = "openid email profile"
R = TypeVar("R", bound=BaseResponse)

EXPIRED = "Google 로그인 시간이 지났거나 다른 창에서 시작되었습니다. 다시 시도해 주세요."
UNFINISHED = "Google 로그인을 마치지 못했습니다. 잠시 후 다시 시도해 주세요."
CANCELLED = "Google 로그인을 취소했습니다."


class Failed(Exception):
    """The flow cannot go on: the status and the Korean message of the sign-in page."""

    def __init__(self, status: int, message: str, why: str) -> None:
        super().__init__(why)
        self.status, self.message = status, message


@dataclass(frozen=True)
class Flow:
    """One browser's sign-in in progress, as its cookie keeps it."""

    state: str
    nonce: str
    next: str


def enabled() -> bool:
    return bool(get_settings().google_sign_in_client_id)


def begin(next_path: str, redirect_uri: str) -> tuple[str, Flow]:
    """Google's consent page for a new flow (which returns to `redirect_uri`), and the flow."""
    flow = Flow(secrets.token_urlsafe(24), secrets.token_urlsafe(24), next_path)
    settings = get_settings()
    query = {
        "client_id": settings.google_sign_in_client_id,
        "response_type": "code",
        "scope": SCOPE,
        "redirect_uri": redirect_uri,
        "state": flow.state,
        "nonce": flow.nonce,
        "prompt": "select_account",
    }
    return f"{settings.google_sign_in_authorize_url}?{urlencode(query)}", flow


def keep(response: R, flow: Flow) -> R:
    """Bind `flow` to this browser."""
    value = _signer().dumps([flow.state, flow.nonce, flow.next])
    response.set_cookie(COOKIE, value, max_age=FLOW_SECONDS, **COOKIE_ATTRIBUTES)
    return response


def forget(response: R) -> R:
    """A flow is used once, whatever its outcome."""
    response.delete_cookie(COOKIE, **COOKIE_ATTRIBUTES)
    return response


def pending(state: str | None) -> Flow:
    """This browser's flow, if the callback's `state` is its own; else Failed (400)."""
    value = flask.request.cookies.get(COOKIE)
    if not value:
        raise Failed(400, EXPIRED, "no flow cookie")
    try:
        kept = _signer().loads(value, max_age=FLOW_SECONDS)
    except BadSignature:  # expired too (SignatureExpired is one)
        raise Failed(400, EXPIRED, "flow cookie expired or forged") from None
    flow = Flow(*kept)
    if not state or not hmac.compare_digest(state.encode(), flow.state.encode()):
        raise Failed(400, EXPIRED, "state mismatch")
    return flow


def exchange(code: str, redirect_uri: str, flow: Flow) -> str:
    """Google's ID token for `code` (its nonce checked against the flow's); else Failed."""
    settings = get_settings()
    secret = settings.google_sign_in_client_secret
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": settings.google_sign_in_client_id,
        "client_secret": secret.get_secret_value() if secret else "",
    }
    timeout = settings.identity_timeout_seconds
    try:
        response = urllib3.request(
            "POST",
            settings.google_sign_in_token_url,
            body=urlencode(form),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            timeout=urllib3.Timeout(connect=min(3.0, timeout), read=timeout),
            retries=False,
        )
    except urllib3.exceptions.HTTPError as error:
        raise Failed(400, UNFINISHED, f"token endpoint unreachable: {error}") from None
    id_token = _json(response.data).get("id_token")
    if response.status != 200 or not isinstance(id_token, str):
        raise Failed(400, UNFINISHED, f"token endpoint answered {response.status}")
    claims = unverified_claims(id_token)
    nonce, audience = str(claims.get("nonce", "")), claims.get("aud")
    if not hmac.compare_digest(nonce.encode(), flow.nonce.encode()):
        raise Failed(400, UNFINISHED, "the ID token's nonce is not the flow's")
    if audience != settings.google_sign_in_client_id:
        raise Failed(400, UNFINISHED, "the ID token is for another client")
    return id_token


def _signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(flask.current_app.secret_key or b"", salt="google-sign-in")


def _json(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
