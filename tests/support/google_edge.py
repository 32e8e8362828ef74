"""Production-mode identity tests: Google's edge, stood in for on a local server.

firebase-admin verifies production tokens against public certificates it downloads from
Google (ID tokens: securetoken@system.gserviceaccount.com's x509 certificates; session
cookies: the Identity Toolkit's publicKeys), and looks accounts up (check_revoked) in the
Identity Toolkit with an OAuth token of the runtime's credentials. Offline, the tests serve a
test RSA key's certificate for both, answer the OAuth token request, and send account lookups
to the Auth emulator: the one fake, at the edge we cannot reach. The URLs are redirected in
the test process only (the library's module constants); production code has no such knob.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import flask
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from google.auth import crypt
from google.auth import jwt as google_jwt

from infra.authemu import AuthEmulator
from tests.support.web import serve

PRODUCTION_PROJECT = "movie-reviews-prod-test"  # not demo-: production rules apply
ID_TOKEN_ISSUER = "https://securetoken.google.com/"
SESSION_ISSUER = "https://session.firebase.google.com/"
ACCESS_TOKEN = "owner"  # the OAuth token the stand-in grants: the emulator's operator token


@dataclass(frozen=True)
class SigningKey:
    """An RSA key and its self-signed certificate, as Google publishes them (kid -> PEM)."""

    key_id: str
    private_pem: bytes
    certificate_pem: str

    @classmethod
    def generate(cls, key_id: str) -> SigningKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "securetoken.test")])
        now = dt.datetime.now(dt.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .sign(key, hashes.SHA256())
        )
        private = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
        return cls(key_id, private, pem)

    def sign(self, claims: dict[str, Any]) -> str:
        signer = crypt.RSASigner.from_string(self.private_pem, key_id=self.key_id)  # type: ignore[no-untyped-call]
        token: bytes = google_jwt.encode(signer, claims)  # type: ignore[no-untyped-call]
        return token.decode()


@dataclass
class GoogleEdge:
    """The local stand-in: certificates, an OAuth token endpoint, and request counts."""

    url: str
    published: dict[str, str]  # kid -> certificate PEM, for ID tokens and session cookies
    hits: Counter[str] = field(default_factory=Counter)

    @property
    def id_token_certs(self) -> str:
        return f"{self.url}/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com"

    @property
    def session_cookie_certs(self) -> str:
        return f"{self.url}/identitytoolkit/v3/relyingparty/publicKeys"

    @property
    def token_uri(self) -> str:
        return f"{self.url}/token"


def _edge_app(edge: GoogleEdge) -> flask.Flask:
    app = flask.Flask("google-edge")

    @app.get("/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com")
    @app.get("/identitytoolkit/v3/relyingparty/publicKeys")
    def certificates() -> flask.Response:
        edge.hits["certificates"] += 1
        response = flask.jsonify(edge.published)
        response.headers["Cache-Control"] = "public, max-age=3600"  # as Google sends them
        return response

    @app.post("/token")
    def token() -> flask.Response:
        edge.hits["token"] += 1
        return flask.jsonify(access_token=ACCESS_TOKEN, expires_in=3600, token_type="Bearer")

    return app


@contextmanager
def google_edge(key: SigningKey) -> Iterator[GoogleEdge]:
    edge = GoogleEdge(url="", published={key.key_id: key.certificate_pem})
    with serve(_edge_app(edge)) as url:
        edge.url = url
        yield edge


@dataclass
class ProductionTokens:
    """Tokens as Identity Platform issues them for PRODUCTION_PROJECT, signed by `key`."""

    key: SigningKey
    edge: GoogleEdge
    emulator: AuthEmulator  # holds the accounts check_revoked looks up
    project: str = PRODUCTION_PROJECT

    def id_token(self, uid: str, **overrides: Any) -> str:
        return self.key.sign(self.claims(uid, ID_TOKEN_ISSUER, **overrides))

    def session_cookie(self, uid: str, **overrides: Any) -> str:
        return self.key.sign(self.claims(uid, SESSION_ISSUER, **overrides))

    def claims(self, uid: str, issuer: str, **overrides: Any) -> dict[str, Any]:
        """A token's claims; `overrides` replace any of them (None removes one)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": issuer + self.project,
            "aud": self.project,
            "auth_time": now,
            "user_id": uid,
            "sub": uid,
            "iat": now,
            "exp": now + 3600,
            "email": f"{uid}@example.com",
            "email_verified": False,
            "firebase": {"identities": {}, "sign_in_provider": "password"},
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}


def use_production(
    monkeypatch: pytest.MonkeyPatch, edge: GoogleEdge, emulator: AuthEmulator, tmp_path: Path
) -> None:
    """This instance runs as on Cloud Run: no emulator variable, a real project id, K_SERVICE
    set, Application Default Credentials from a service-account key file; only Google's
    endpoints are redirected to the stand-ins."""
    from firebase_admin import _token_gen, _user_mgt

    credentials = write_service_account(edge, tmp_path / "service-account.json")
    monkeypatch.delenv("FIREBASE_AUTH_EMULATOR_HOST", raising=False)
    monkeypatch.delenv("CLOUD_RUN_JOB", raising=False)
    monkeypatch.setenv("K_SERVICE", "reviews")
    monkeypatch.setenv("FIREBASE_PROJECT_ID", PRODUCTION_PROJECT)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(credentials))
    monkeypatch.setattr(_token_gen, "ID_TOKEN_CERT_URI", edge.id_token_certs)
    monkeypatch.setattr(_token_gen, "COOKIE_CERT_URI", edge.session_cookie_certs)
    toolkit_url = f"{emulator.url}/identitytoolkit.googleapis.com/v1"
    monkeypatch.setattr(_user_mgt.UserManager, "ID_TOOLKIT_URL", toolkit_url)


def write_service_account(edge: GoogleEdge, path: Path, project: str = PRODUCTION_PROJECT) -> Path:
    """A service-account key file (GOOGLE_APPLICATION_CREDENTIALS) whose token endpoint is
    the stand-in."""
    key = SigningKey.generate("service-account")
    account = {
        "type": "service_account",
        "project_id": project,
        "private_key_id": key.key_id,
        "private_key": key.private_pem.decode(),
        "client_email": f"reviews@{project}.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": edge.token_uri,
    }
    path.write_text(json.dumps(account))
    return path
