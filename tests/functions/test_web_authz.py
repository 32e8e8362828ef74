"""The console's authorization matrix: every route of the app x every kind of visitor.

ROUTES is the one table (tests/support/console_authz.py derives each visitor's status from a
row), and a test checks it against the app's url_map, so a new route cannot be forgotten.
Everything runs in production mode (signed session cookies, a real project id, K_SERVICE
set: tests/support/google_edge.py), so an expired session is truly expired; the accounts are
real records on the Auth emulator, where revocation and disabling are looked up. Each refused
write is also checked to change nothing: the catalogue (through the API) and the uploads
bucket are the same before and after. Requests that would reach Identity Platform's REST API
(sign-in, rename, delete) carry input the console refuses first, which is still behind the
same authorization.
"""

from __future__ import annotations

import io
import json
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient

from infra.authemu import AuthEmulator, SeedAccount
from infra.localpg import EmbeddedPostgres
from shared import identity, storage
from shared.identity.roles import Role
from shared.settings import get_settings
from shared.uploads import names
from shared.web.session import COOKIE
from tests.conftest import TEMPLATE, fresh_instance
from tests.support import API_KEY
from tests.support.console_authz import Access, Principal, Row, expected
from tests.support.google_edge import (
    PRODUCTION_PROJECT,
    SESSION_ISSUER,
    ProductionTokens,
    SigningKey,
    google_edge,
    use_production,
)
from tests.support.identity import OTHER_PROJECT, PASSWORD, next_second, reset_identity
from tests.support.web import api_env, function_app, page

POSITIVE = "정말 재미있고 감동적인 최고의 영화였어요"
NEGATIVE = "시간 아깝다. 스토리도 엉망이고 연기도 최악"
A, G, P = Access, "GET", "POST"
REVIEW = "/films/<int:movie_id>/reviews/<int:review_id>"
ROUTES = [
    Row(G, "/", A.PUBLIC, 200),
    Row(G, "/healthz", A.PUBLIC, 200),
    Row(G, "/readyz", A.PUBLIC, 200),
    Row(G, "/docs", A.PUBLIC, 200),
    Row(G, "/openapi.json", A.PUBLIC, 200),
    Row(G, "/assets/<path:filename>", A.PUBLIC, 200),
    Row(G, "/films", A.PUBLIC, 200),
    Row(G, "/films/<int:movie_id>", A.PUBLIC, 200),
    Row(G, "/login", A.PUBLIC, 200),
    Row(G, "/signup", A.PUBLIC, 200),
    Row(P, "/preview", A.PUBLIC, 200, {"content": POSITIVE}),
    Row(P, "/login", A.PUBLIC, 422, {"email": "", "password": ""}),
    Row(P, "/signup", A.PUBLIC, 422, {"email": "x@example.com", "display_name": " "}),
    Row(P, "/logout", A.PUBLIC, 303, {}, fresh_accounts=True),
    Row(G, "/login/google", A.PUBLIC, 303),  # to Google (on in this world)
    Row(G, "/login/google/callback", A.PUBLIC, 400),  # no flow of this browser's
    Row(G, "/films/new", A.ADMIN, 200),
    Row(P, "/films", A.ADMIN, 303, {"title": "새 영화"}),
    Row(G, "/films/<int:movie_id>/edit", A.ADMIN, 200),
    Row(P, "/films/<int:movie_id>/edit", A.ADMIN, 303, {"title": "고친 제목"}),
    Row(G, "/films/<int:movie_id>/delete", A.ADMIN, 200),
    Row(P, "/films/<int:movie_id>/delete", A.ADMIN, 303, {}, fresh_objects=True),
    Row(G, "/upload", A.ADMIN, 200),
    Row(P, "/upload", A.ADMIN, 303, {"file": b'{"movie_id": 1, "author": "a", "content": "b"}\n'}),
    Row(G, "/uploads/<token>/<name>", A.ADMIN, 200),
    Row(G, "/uploads/<token>/<name>/report", A.ADMIN, 200),
    Row(G, "/uploads/<token>/<name>/rejects", A.ADMIN, 200),
    Row(P, "/films/<int:movie_id>/reviews", A.SIGNED_IN, 303, {"content": POSITIVE}),
    Row(G, f"{REVIEW}/edit", A.OWN_REVIEW, 200),
    Row(P, f"{REVIEW}/edit", A.OWN_REVIEW, 303, {"content": NEGATIVE}),
    Row(P, f"{REVIEW}/delete", A.OWN_REVIEW_OR_ADMIN, 303, {}, fresh_objects=True),
    Row(G, "/account", A.SIGNED_IN, 200),
    Row(G, "/account/reviews", A.SIGNED_IN, 200),
    Row(P, "/account/name", A.SIGNED_IN, 422, {"display_name": " ", "password": "x"}),
    Row(P, "/account/delete", A.SIGNED_IN, 422, {"password": "x"}),  # unconfirmed
]


def test_the_table_names_every_route_of_the_console() -> None:
    from shared.web.app import create_app

    app = create_app(get_settings())
    served = {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    table = [row.key for row in ROUTES]
    assert len(table) == len(set(table)), "a route is in the table twice"
    assert served == set(table)


# --- the world the matrix runs in -------------------------------------------------------------


@dataclass
class World:
    tokens: ProductionTokens
    apis: dict[str, str]
    web: Any  # the console's WSGI app
    upload: tuple[str, str]  # an upload's token and name (with a report and rejects)
    movie_id: int = 0
    review_id: int = 0
    cookies: dict[Principal, str] = field(default_factory=dict)

    @property
    def emulator(self) -> AuthEmulator:
        return self.tokens.emulator

    def principals(self) -> dict[Principal, str]:
        """A session cookie for each kind of signed-in visitor, on accounts of their own."""
        tag = uuid.uuid4().hex[:8]
        cookies: dict[Principal, str] = {}
        made: dict[Principal, str] = {}
        for principal in Principal:
            if principal in (Principal.ANONYMOUS, Principal.API_KEY):
                continue
            role: Role | None = "admin" if principal is Principal.ADMIN else None
            name = principal.name.lower().replace("_", "-")
            account = SeedAccount(
                f"{name}-{tag}@example.com",
                PASSWORD,
                principal.name,
                role=role,
                disabled=principal is Principal.DISABLED,
            )
            uid = self.emulator.seed(account, project=PRODUCTION_PROJECT)
            made[principal] = uid
            claims: dict[str, Any] = {"name": principal.name, "email": account.email}
            if role:
                claims["role"] = role
            if principal is Principal.EXPIRED:
                now = int(time.time())
                claims |= {"iat": now - 7200, "auth_time": now - 7200, "exp": now - 3600}
            if principal is Principal.OTHER_PROJECT:  # signed alike, for another site
                claims |= {"aud": OTHER_PROJECT, "iss": SESSION_ISSUER + OTHER_PROJECT}
            cookies[principal] = self.tokens.session_cookie(uid, **claims)
        next_second()  # revocation counts whole seconds
        identity.revoke_sessions(made[Principal.REVOKED])
        return cookies

    def api(
        self, method: str, function: str, path: str, cookie: str | None = None, **kw: Any
    ) -> Any:
        credential = {"Authorization": f"Bearer {cookie}"} if cookie else {"X-API-Key": API_KEY}
        response = requests.request(
            method, self.apis[function] + path, headers=credential, timeout=30, **kw
        )
        assert response.status_code < 300, (method, path, response.text)
        return response.json() if response.content else None

    def new_movie(self) -> int:
        return int(self.api("POST", "movies", "/movies", json={"title": "영화"})["id"])

    def new_review(self, movie_id: int) -> int:
        """A review written by the member (with the member's own session)."""
        body = {"movie_id": movie_id, "content": POSITIVE}
        cookie = self.cookies[Principal.MEMBER]
        return int(self.api("POST", "reviews", "/reviews", cookie, json=body)["id"])

    def snapshot(self) -> Any:
        """Everything a write could change: the catalogue and the uploads bucket."""
        movies = self.api("GET", "movies", "/movies?limit=100")["items"]
        reviews = self.api("GET", "reviews", "/reviews?limit=100")["items"]
        bucket = storage.get_client().bucket(get_settings().uploads_bucket)
        return movies, reviews, sorted(blob.name for blob in bucket.list_blobs())

    def client(self, cookie: str | None) -> FlaskClient:
        client = FlaskClient(self.web, self.web.response_class)
        if cookie:
            client.set_cookie(COOKIE, cookie, domain="localhost", secure=True)
        return client


@pytest.fixture(scope="module")
def world(
    postgres: EmbeddedPostgres,
    live_apis: dict[str, str],
    gcs_emulator: str,
    auth_emulator: AuthEmulator,
    signing_key: SigningKey,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[World]:
    name = f"authz_{uuid.uuid4().hex[:12]}"
    url = postgres.create_database(name, template=TEMPLATE)
    with pytest.MonkeyPatch.context() as env, google_edge(signing_key) as edge:
        env.setenv("DATABASE_URL", url)
        env.setenv("API_KEYS", API_KEY)
        for variable, value in api_env(live_apis).items():
            env.setenv(variable, value)
        env.setenv("WEB_SECRET_KEY", "the-matrix-console-key")
        env.setenv("FIREBASE_WEB_API_KEY", "test-web-api-key")
        env.setenv("GOOGLE_SIGN_IN_CLIENT_ID", "matrix.apps.googleusercontent.com")
        env.setenv("GOOGLE_SIGN_IN_CLIENT_SECRET", "matrix-google-secret")
        for limit in ("WEB_WRITE", "WEB_SIGN_IN", "WEB_SIGN_UP", "WEB_PREVIEW", "API_WRITE"):
            env.setenv(f"{limit}_RATE_LIMIT", "100000/minute")
        use_production(env, edge, auth_emulator, Path(tmp_path_factory.mktemp("authz")))
        fresh_instance()
        reset_identity()
        auth_emulator.wipe(PRODUCTION_PROJECT)
        world = World(
            tokens=ProductionTokens(signing_key, edge, auth_emulator),
            apis=live_apis,
            web=function_app("web"),
            upload=_upload(),
        )
        world.cookies = world.principals()
        world.movie_id = world.new_movie()
        world.review_id = world.new_review(world.movie_id)
        yield world
    fresh_instance()
    reset_identity()
    postgres.drop_database(name)


def _upload() -> tuple[str, str]:
    """An upload the console made (its token issued by the console), with its report and
    rejects in the bucket."""
    from shared.web.app import get_app
    from shared.web.uploads import UploadRef

    client = storage.get_client()
    bucket = client.lookup_bucket(get_settings().uploads_bucket) or client.create_bucket(
        get_settings().uploads_bucket
    )
    with get_app().app_context():
        ref = UploadRef.new("reviews.jsonl")
    token, name, item = ref.token, ref.name, ref.object_name
    bucket.blob(item).upload_from_string(b"{}\n")
    report = {"status": "done", "lines": 1, "inserted": 0, "duplicates": 0, "rejected": 1}
    report |= {"duration_seconds": 0.1, "model_version": "v", "error": None}
    bucket.blob(names.report_name(item)).upload_from_string(json.dumps(report))
    bucket.blob(names.rejects_name(item)).upload_from_string(b'{"line": 1}\n')
    return token, name


# --- the matrix ----------------------------------------------------------------------------------


def path_of(rule: str, world: World, movie_id: int, review_id: int) -> str:
    values = {
        "movie_id": str(movie_id),
        "review_id": str(review_id),
        "token": world.upload[0],
        "name": world.upload[1],
        "filename": "app.css",
    }
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: values[m.group(1)], rule)


def send(world: World, row: Row, principal: Principal, cookie: str | None, path: str) -> Any:
    client = world.client(cookie)
    # the service clients' key means nothing to the console: it must grant nothing
    headers = {"X-API-Key": API_KEY} if principal is Principal.API_KEY else {}
    if row.method == "GET":
        return client.get(path, headers=headers)
    token = page(client.get("/login")).find_all("input", name="csrf_token")[0].attrs["value"]
    form: dict[str, Any] = {"csrf_token": token, "request_id": str(uuid.uuid4())}
    for key, value in (row.form or {}).items():
        form[key] = (io.BytesIO(value), "reviews.jsonl") if isinstance(value, bytes) else value
    return client.post(path, data=form, headers=headers)


@pytest.mark.parametrize("row", ROUTES, ids=lambda row: f"{row.method} {row.rule}")
def test_every_visitor_gets_what_the_table_says(world: World, row: Row) -> None:
    cookies = world.principals() if row.fresh_accounts else world.cookies
    wrong = []
    for principal in Principal:
        movie_id, review_id = world.movie_id, world.review_id
        if row.fresh_objects:
            movie_id = world.new_movie()
            review_id = world.new_review(movie_id)
        path = path_of(row.rule, world, movie_id, review_id)
        before = world.snapshot() if row.method == "POST" else None
        response = send(world, row, principal, cookies.get(principal), path)
        want = expected(row, principal)
        if response.status_code != want:
            wrong.append(f"{principal}: {response.status_code}, expected {want}")
        elif want == 303 and row.method == "GET" and want != row.ok:
            assert response.headers["Location"].startswith("/login?next=")
        if before is not None and want in (403, 422) and world.snapshot() != before:
            wrong.append(f"{principal}: a refused {row.method} {path} changed something")
    assert wrong == [], f"{row.method} {row.rule} ({row.access.value}):\n" + "\n".join(wrong)


def test_the_expired_cookie_is_expired_and_the_others_are_not(world: World) -> None:
    """The matrix's premise: each principal's cookie is what its name says."""
    from shared.errors import Unauthorized

    claims = world.tokens.claims("x", SESSION_ISSUER)
    assert claims["iss"].startswith(SESSION_ISSUER)
    with pytest.raises(Unauthorized, match="expired"):
        identity.verify_session_cookie(world.cookies[Principal.EXPIRED])
    with pytest.raises(Unauthorized, match="not valid"):
        identity.verify_session_cookie(world.cookies[Principal.OTHER_PROJECT])
    for principal in (Principal.REVOKED, Principal.DISABLED):
        identity.verify_session_cookie(world.cookies[principal])  # valid until looked up
        with pytest.raises(Unauthorized):
            identity.verify_session_cookie(world.cookies[principal], check_revoked=True)
    admin = identity.verify_session_cookie(world.cookies[Principal.ADMIN], check_revoked=True)
    assert admin.role == "admin"
