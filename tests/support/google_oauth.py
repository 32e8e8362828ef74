"""A stand-in for Google's OAuth 2.0 server, the edge the tests cannot reach.

Its authorize endpoint sends the browser back to the client's redirect URI with a code and
the state (or `error=access_denied` when the account holder says no); its token endpoint
trades a code, once, for an ID token that carries the nonce of the authorize request, as
Google's does, after checking the client's id, secret and redirect URI. The ID token is
unsigned (alg "none"): the Auth emulator takes it in signInWithIdp, where Identity Platform
checks Google's signature. Everything else in a Google sign-in test is real.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import flask

from tests.support.identity import unsigned_token
from tests.support.web import serve

CLIENT_ID = "test-client.apps.googleusercontent.com"
CLIENT_SECRET = "test-google-client-secret"


@dataclass
class GoogleAccount:
    sub: str = "109876543210987654321"
    email: str = "google-user@gmail.com"
    name: str = "구글 관객"


@dataclass
class GoogleStandIn:
    url: str = ""
    account: GoogleAccount = field(default_factory=GoogleAccount)
    deny: bool = False  # the account holder cancels on the consent page
    token_status: int = 200  # the token endpoint's answer (500: an outage)
    nonce: str | None = None  # put this nonce in the ID token instead of the request's
    token_requests: list[dict[str, str]] = field(default_factory=list)
    _codes: dict[str, dict[str, Any]] = field(default_factory=dict)

    def authorize(self) -> Any:
        query = flask.request.args
        assert query["client_id"] == CLIENT_ID and query["response_type"] == "code"
        assert set(query["scope"].split()) == {"openid", "email", "profile"}
        back = {"state": query["state"]}
        if self.deny:
            back["error"] = "access_denied"
        else:
            code = secrets.token_urlsafe(16)
            self._codes[code] = {**query, "account": self.account}
            back["code"] = code
        return flask.redirect(f"{query['redirect_uri']}?{urlencode(back)}", code=302)

    def token(self) -> Any:
        form = flask.request.form.to_dict()
        self.token_requests.append(form)
        if self.token_status != 200:
            return {"error": "internal_failure"}, self.token_status
        asked = self._codes.pop(form.get("code", ""), None)
        valid = (form.get("client_id"), form.get("client_secret")) == (CLIENT_ID, CLIENT_SECRET)
        if not valid:
            return {"error": "invalid_client"}, 401
        if asked is None or form.get("redirect_uri") != asked["redirect_uri"]:
            return {"error": "invalid_grant"}, 400
        account: GoogleAccount = asked["account"]
        now = int(time.time())
        claims = {
            "iss": "https://accounts.google.com",
            "aud": CLIENT_ID,
            "sub": account.sub,
            "email": account.email,
            "email_verified": True,
            "name": account.name,
            "nonce": self.nonce or asked["nonce"],
            "iat": now,
            "exp": now + 3600,
        }
        return {"access_token": "ya29.test", "id_token": unsigned_token(claims), "expires_in": 3599}

    def env(self) -> dict[str, str]:
        """The console's settings for this stand-in."""
        return {
            "GOOGLE_SIGN_IN_CLIENT_ID": CLIENT_ID,
            "GOOGLE_SIGN_IN_CLIENT_SECRET": CLIENT_SECRET,
            "GOOGLE_SIGN_IN_AUTHORIZE_URL": f"{self.url}/o/oauth2/v2/auth",
            "GOOGLE_SIGN_IN_TOKEN_URL": f"{self.url}/token",
        }


@contextmanager
def google_oauth() -> Iterator[GoogleStandIn]:
    """The stand-in on a free port."""
    stand_in = GoogleStandIn()
    app = flask.Flask("google-oauth-stand-in")
    app.add_url_rule("/o/oauth2/v2/auth", "authorize", stand_in.authorize)
    app.add_url_rule("/token", "token", stand_in.token, methods=["POST"])
    with serve(app) as url:
        stand_in.url = url
        yield stand_in
