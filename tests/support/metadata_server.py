"""The metadata server of a Cloud Run instance, stood in for on a local server: the one fake
the console's ID-token tests need (the edge we cannot reach).

It answers google-auth's presence check and the service account's description, and issues
ID tokens for it (`instance/service-accounts/default/identity?audience=...`), signed by a test
key so
a test can verify what the console sent. google-auth reads the server's address from
GCE_METADATA_IP on every call and from GCE_METADATA_HOST once, at import: the second is
redirected in the test process only (the library's module constant), as tests/support/
google_edge.py redirects firebase-admin's certificate URLs.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import flask
import pytest
from google.auth import jwt as google_jwt

from tests.support.google_edge import SigningKey
from tests.support.web import serve

SERVICE_ACCOUNT = "kmr-dev-fn-web@my-project-dev.iam.gserviceaccount.com"
ISSUER = "https://accounts.google.com"


@dataclass
class MetadataServer:
    key: SigningKey
    url: str = ""
    lifetime: int = 3600  # seconds each token is valid
    up: bool = True
    issued: Counter[str] = field(default_factory=Counter)  # audience -> tokens issued

    @property
    def host(self) -> str:
        return self.url.removeprefix("http://")

    def verify(self, token: str, audience: str) -> dict[str, Any]:
        """The claims of a token this server issued for `audience` (else ValueError)."""
        certs = {self.key.key_id: self.key.certificate_pem}
        claims: dict[str, Any] = google_jwt.decode(token, certs=certs, audience=audience)  # type: ignore[no-untyped-call]
        return claims


def _app(server: MetadataServer) -> flask.Flask:
    app = flask.Flask("metadata-server")

    def answer(body: str, status: int = 200) -> flask.Response:
        response = flask.make_response(body, status)
        response.headers["Metadata-Flavor"] = "Google"
        return response

    @app.get("/")
    def ping() -> flask.Response:
        return answer("", 200 if server.up else 503)

    @app.get("/computeMetadata/v1/instance/service-accounts/default/")
    def account() -> flask.Response:
        info = {"aliases": ["default"], "email": SERVICE_ACCOUNT, "scopes": []}
        response = answer(json.dumps(info))
        response.mimetype = "application/json"
        return response

    @app.get("/computeMetadata/v1/instance/service-accounts/default/identity")
    def identity() -> flask.Response:
        if flask.request.headers.get("Metadata-Flavor") != "Google" or not server.up:
            return answer("refused", 403 if server.up else 503)
        audience = flask.request.args["audience"]
        server.issued[audience] += 1
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": audience,
            "sub": "1234567890",
            "azp": "1234567890",
            "email": SERVICE_ACCOUNT,
            "email_verified": True,
            "iat": now,
            "exp": now + server.lifetime,
        }
        return answer(server.key.sign(claims))

    return app


@contextmanager
def metadata_server(key: SigningKey) -> Iterator[MetadataServer]:
    server = MetadataServer(key)
    with serve(_app(server)) as url:
        server.url = url
        yield server


def use_metadata_server(monkeypatch: pytest.MonkeyPatch, server: MetadataServer) -> None:
    """This process's google-auth asks `server` for ID tokens, as on Cloud Run (no key file)."""
    from google.auth.compute_engine import _metadata

    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("GCE_METADATA_IP", server.host)
    monkeypatch.setattr(_metadata, "_GCE_METADATA_HOST", server.host)
