"""The API's authorization matrix: every route of movies, reviews and ratings × every kind
of caller → the status the one TABLE below says, and no refused request changes anything.

The routes are read from each function's `Api.routes`, so a route added without a row fails
test_every_route_has_a_row. Columns (tests/support/authz.py), and which mode proves each:

- emulator mode (the Firebase Auth emulator's real accounts, verified by firebase-admin as
  the functions do, with the revocation check): anonymous, member (the owner of every review
  a row targets), another member, admin, the API key, another project's token (the emulator
  token with that project's audience and issuer), a revoked ID token, a revoked session
  cookie (the console's credential) and a disabled user's token — each refused on the
  account lookup or the claims, which the emulator mode checks as production does;
- production mode (`production_tokens`: tokens signed by a test key whose certificate stands
  in for Google's): an expired token, because the emulator mode does not check expiry. The
  expired token is an admin's, so nothing but the expiry refuses it.

One database, one set of accounts and the three functions are shared by the module; rows
that change what they act on (delete a movie, edit a member's review) get a fresh target
each. Public routes do not look at credentials, so every column reads them (200).
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask.testing import FlaskClient

import shared.movies
import shared.reviews
from infra.authemu import AuthEmulator
from infra.localpg import EmbeddedPostgres
from shared import identity
from shared.identity import Identity, Principal
from shared.schemas.movies import MovieCreate
from shared.schemas.reviews import ReviewCreate
from tests.conftest import TEMPLATE, fresh_instance, use_database
from tests.support import API_KEY, function_client
from tests.support.authz import (
    ADMIN,
    COLUMNS,
    DISABLED,
    EXPIRED,
    KEY_CLIENT,
    MEMBER,
    OTHER_MEMBER,
    OTHER_PROJECT,
    REVOKED,
    REVOKED_SESSION,
    Row,
    Sent,
    assert_complete,
    database_state,
    no_target,
    public,
    run,
    signed,
)
from tests.support.google_edge import ProductionTokens
from tests.support.identity import Accounts, TestUser, next_second, use_emulator

FUNCTIONS = ("movies", "reviews", "ratings")
TEXT = "배우들 연기가 정말 좋았어요"


@dataclass
class ApiWorld:
    """The module's database, functions, accounts and each column's credentials."""

    clients: dict[str, FlaskClient]
    member: TestUser
    credentials: dict[str, dict[str, str]] = field(default_factory=dict)
    movie_id: int = 0  # a movie with an imported review, for the reads
    imported_review: int = 0

    def state(self) -> str:
        return database_state()

    def new_movie(self) -> int:
        return shared.movies.create(MovieCreate(title="지울 영화")).id

    def members_review(self) -> int:
        """A fresh review written by MEMBER, as the reviews function writes one."""
        writer = Identity(self.member.uid, self.member.email, self.member.display_name, "member")
        (review,) = shared.reviews.create(
            [ReviewCreate(movie_id=self.movie_id, content=TEXT)], Principal.account(writer)
        )
        return review.id


Path = str | Callable[[ApiWorld, Any], str]
Body = Callable[[ApiWorld, str], Any] | dict[str, Any] | None


def row(
    function: str,
    route: str,
    expect: dict[str, int],
    *,
    path: Path | None = None,
    body: Body = None,
    target: Callable[[ApiWorld], Any] | None = None,
    variant: str = "",
) -> Row:
    """A row whose request goes to `function`: `path` (the rule itself by default; or built
    from the world and the row's target) and `body` (fixed, or built per column)."""
    method, rule = route.split(" ", 1)

    def send(world: ApiWorld, column: str, made: Any) -> Sent:
        url = path(world, made) if callable(path) else (path or rule)
        payload = body(world, column) if callable(body) else body
        client = world.clients[function]
        headers = world.credentials[column]
        response: Sent = client.open(url, method=method, json=payload, headers=headers)
        return response

    return Row(route, expect, send, target or no_target, variant)


def review_body(world: ApiWorld, column: str) -> dict[str, Any]:
    """A review to write: an API key client names the author, an account must not."""
    author = {"author": "수입"} if column == KEY_CLIENT else {}
    return {"movie_id": world.movie_id, "content": TEXT, **author}


def the_movie(world: ApiWorld, target: Any) -> str:
    return f"/movies/{world.movie_id}"


def _service_rows(function: str) -> list[Row]:
    paths = ("/healthz", "/readyz", "/openapi.json", f"/{function}/openapi.json")
    return [row(function, f"GET {path}", public()) for path in paths]


OWN_REVIEW = signed(member=200, other_member=403, admin=403, api_key=200)
TABLE: list[Row] = [
    *_service_rows("movies"),
    row("movies", "POST /movies", signed(member=403, admin=201, api_key=201),
        body={"title": "권한 시험"}),
    row("movies", "GET /movies", public()),
    row("movies", "GET /movies/<id:movie_id>", public(), path=the_movie),
    row("movies", "PATCH /movies/<id:movie_id>", signed(member=403, admin=200, api_key=200),
        path=the_movie, body={"genre": "드라마"}),
    row("movies", "DELETE /movies/<id:movie_id>", signed(member=403, admin=204, api_key=204),
        target=ApiWorld.new_movie, path=lambda world, movie: f"/movies/{movie}"),
    *_service_rows("reviews"),
    row("reviews", "POST /reviews", signed(member=201, admin=201, api_key=201),
        body=review_body),
    row("reviews", "POST /reviews:batch", signed(member=403, admin=201, api_key=201),
        body=lambda world, column: {"items": [review_body(world, column)]}),
    row("reviews", "GET /reviews", public()),
    row("reviews", "GET /reviews", signed(member=200, admin=200, api_key=400),
        path="/reviews?mine=true", variant="?mine=true"),
    row("reviews", "DELETE /reviews/mine", signed(member=204, admin=204, api_key=400)),
    row("reviews", "GET /reviews/<id:review_id>", public(),
        path=lambda world, _: f"/reviews/{world.imported_review}"),
    row("reviews", "PATCH /reviews/<id:review_id>", OWN_REVIEW, variant="(the member's)",
        target=ApiWorld.members_review, path=lambda world, review: f"/reviews/{review}",
        body={"content": "다시 보니 지루했다"}),
    row("reviews", "PATCH /reviews/<id:review_id>", signed(member=403, admin=403, api_key=200),
        variant="(imported)", path=lambda world, _: f"/reviews/{world.imported_review}",
        body={"content": "수정된 수입 리뷰"}),
    row("reviews", "DELETE /reviews/<id:review_id>",
        signed(member=204, other_member=403, admin=204, api_key=204),
        target=ApiWorld.members_review, path=lambda world, review: f"/reviews/{review}"),
    row("reviews", "POST /sentiment", public(), body={"text": TEXT}),
    row("reviews", "POST /sentiment:batch", signed(member=403, admin=200, api_key=200),
        body={"texts": [TEXT]}),
    *_service_rows("ratings"),
    row("ratings", "GET /ratings", public()),
    row("ratings", "GET /ratings/<id:movie_id>", public(),
        path=lambda world, _: f"/ratings/{world.movie_id}"),
    row("ratings", "GET /ratings/<id:movie_id>/trend", public(),
        path=lambda world, _: f"/ratings/{world.movie_id}/trend"),
]  # fmt: skip


def declared_routes(function: str) -> list[str]:
    """The routes functions/<function>/main.py declares, as "METHOD rule"."""
    function_client(function)  # functions-framework loads the source as module "main"
    api = sys.modules["main"].api
    return [f"{route.method} {route.rule}" for route in api.routes]


def test_every_route_has_a_row() -> None:
    assert_complete(TABLE, [r for function in FUNCTIONS for r in declared_routes(function)])


@pytest.fixture(scope="module")
def world(postgres: EmbeddedPostgres, auth_emulator: AuthEmulator) -> Iterator[ApiWorld]:
    name = f"t_authz_{uuid.uuid4().hex[:8]}"
    with pytest.MonkeyPatch.context() as patch:
        use_database(
            patch, postgres.create_database(name, template=TEMPLATE),
            API_WRITE_RATE_LIMIT="100000/minute",
        )  # fmt: skip
        use_emulator(patch, auth_emulator)
        auth_emulator.wipe()
        accounts = Accounts(auth_emulator)
        api = ApiWorld({f: function_client(f) for f in FUNCTIONS}, accounts.member())
        api.credentials = _credentials(accounts)
        api.movie_id = api.new_movie()
        imported = ReviewCreate(movie_id=api.movie_id, author="수입", content=TEXT)
        api.imported_review = shared.reviews.create([imported], Principal.service(0))[0].id
        yield api
        fresh_instance()
    postgres.drop_database(name)


def _credentials(accounts: Accounts) -> dict[str, dict[str, str]]:
    """Each column's headers (EXPIRED's come with production mode)."""
    revoked = accounts.create("revoked@example.com", "로그아웃된 관객")
    in_session = accounts.create("session@example.com", "세션 관객")
    cookie = identity.create_session_cookie(in_session.id_token)
    next_second()  # revocation counts whole seconds
    for user in (revoked, in_session):
        identity.revoke_sessions(user.uid)
    bearer = {
        MEMBER: accounts.member().id_token,
        OTHER_MEMBER: accounts.second_member().id_token,
        ADMIN: accounts.admin().id_token,
        OTHER_PROJECT: accounts.other_project_token(),
        REVOKED: revoked.id_token,
        REVOKED_SESSION: cookie,
        DISABLED: accounts.disabled().id_token,
    }
    headers = {column: {"Authorization": f"Bearer {token}"} for column, token in bearer.items()}
    return {**{column: {} for column in COLUMNS}, **headers, KEY_CLIENT: {"X-API-Key": API_KEY}}


@pytest.mark.parametrize("column", [c for c in COLUMNS if c != EXPIRED])
def test_each_caller_gets_what_the_table_says(world: ApiWorld, column: str) -> None:
    mismatches = run(TABLE, column, world)
    assert not mismatches, "\n".join(mismatches)


def test_an_expired_token_is_refused_wherever_one_is_needed(
    world: ApiWorld, production_tokens: ProductionTokens
) -> None:
    """Production mode: an admin's token, correctly signed, an hour and a minute old."""
    issued = int(time.time()) - 3660
    token = production_tokens.id_token(
        "expired-admin", role="admin", iat=issued, auth_time=issued, exp=issued + 3600
    )
    world.credentials[EXPIRED] = {"Authorization": f"Bearer {token}"}
    mismatches = run(TABLE, EXPIRED, world)
    assert not mismatches, "\n".join(mismatches)
