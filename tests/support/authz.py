"""The authorization matrix: one table, route by route and caller by caller.

A table is a list of Rows: one per route an app declares (plus variants of a route that its
query or target changes, e.g. `GET /reviews?mine=true`), each with the status every column
(a kind of caller) must get. assert_complete() fails when the app has a route without a row,
so a new route cannot be forgotten, or a row names a route the app no longer has. run() sends
each row's request as one column's caller, collects every mismatch (status, problem+json,
the 401's challenge) into one report, and checks that every refused request left the
database exactly as it was (a fingerprint of every table, before and after).

The columns and the machinery are shared: the API's table is tests/functions/test_authz_api.py;
the console's table can use the same columns with its own Row.send (cookies, forms) and world.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa

from shared import db

ANONYMOUS = "anonymous"
MEMBER = "member"  # the owner of any review a row targets
OTHER_MEMBER = "other member"  # a member who owns nothing the row targets
ADMIN = "admin"
KEY_CLIENT = "API key"  # a service client's X-API-Key
EXPIRED = "expired token"  # an admin's, correctly signed: production mode
OTHER_PROJECT = "other project's token"
REVOKED = "revoked token"  # a member's ID token issued before their sessions were revoked
REVOKED_SESSION = "revoked session"  # a member's session cookie (the console's), revoked
DISABLED = "disabled user"  # a member's token issued before the account was disabled
# credentials that prove no one: wherever a credential is needed, each is a 401
REFUSED = (EXPIRED, OTHER_PROJECT, REVOKED, REVOKED_SESSION, DISABLED)
COLUMNS = (ANONYMOUS, MEMBER, OTHER_MEMBER, ADMIN, KEY_CLIENT, *REFUSED)
PROBLEM = "application/problem+json"


def public(status: int = 200) -> dict[str, int]:
    """A route anyone may call, with any credential or none (a public route never looks)."""
    return dict.fromkeys(COLUMNS, status)


def signed(
    *, member: int, admin: int, api_key: int, other_member: int | None = None
) -> dict[str, int]:
    """A route that needs a credential: 401 for none or a refused one; the rest as given
    (`other_member` defaults to what the member gets)."""
    return {
        **dict.fromkeys((ANONYMOUS, *REFUSED), 401),
        MEMBER: member,
        OTHER_MEMBER: member if other_member is None else other_member,
        ADMIN: admin,
        KEY_CLIENT: api_key,
    }


class Sent(Protocol):
    """What a row's request came back with (a Flask test response fits)."""

    @property
    def status_code(self) -> int: ...
    @property
    def mimetype(self) -> str | None: ...
    @property
    def headers(self) -> Any: ...


class World(Protocol):
    """Where rows run: the app's state, fingerprinted (run() compares it around refusals)."""

    def state(self) -> str: ...


def no_target(world: Any) -> None:
    return None


@dataclass(frozen=True)
class Row:
    """One route (or a variant of it) and the status each column must get.

    `target` makes what the request acts on (a fresh movie to delete, a member's review to
    edit) before the database is fingerprinted; `send` then sends the request as a column.
    """

    route: str  # "METHOD rule", exactly as the app declares it
    expect: Mapping[str, int]
    send: Callable[[Any, str, Any], Sent]  # (world, column, target) -> the response
    target: Callable[[Any], Any] = no_target
    variant: str = ""  # what sets this row apart from the route's other rows

    @property
    def name(self) -> str:
        return f"{self.route} {self.variant}".strip()


def assert_complete(rows: Sequence[Row], routes: Iterable[str]) -> None:
    """Every route has a row, every row a route, every row every column."""
    declared = set(routes)
    covered = {row.route for row in rows}
    assert not declared - covered, f"routes without a row: {sorted(declared - covered)}"
    assert not covered - declared, f"rows for no route: {sorted(covered - declared)}"
    for row in rows:
        assert set(row.expect) == set(COLUMNS), f"{row.name}: columns {set(row.expect)}"


def run(rows: Sequence[Row], column: str, world: World) -> list[str]:
    """Send every row as `column`; one line per mismatch (empty: all as the table says)."""
    mismatches = []
    for row in rows:
        expected = row.expect[column]
        target = row.target(world)
        before = world.state() if expected >= 400 else ""
        response = row.send(world, column, target)
        got = response.status_code
        wrong = [] if got == expected else [f"status {got}, expected {expected}"]
        if expected >= 400:
            if response.mimetype != PROBLEM:
                wrong.append(f"{response.mimetype}, not problem+json")
            if expected == 401 and not response.headers.get("WWW-Authenticate"):
                wrong.append("a 401 without WWW-Authenticate")
            if world.state() != before:
                wrong.append("a refused request changed the database")
        mismatches += [f"{row.name} as {column}: {problem}" for problem in wrong]
    return mismatches


def database_state() -> str:
    """A fingerprint of every table's rows (this test's own database: small)."""
    with db.transaction() as conn:
        tables = conn.execute(
            sa.text(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
                " ORDER BY table_name"
            )
        ).scalars()
        digests = [
            f"{table}:"
            + str(
                conn.execute(
                    sa.text(
                        f"SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), ''))"
                        f' FROM "{table}" AS t'
                    )
                ).scalar_one()
            )
            for table in list(tables)
        ]
    return ";".join(digests)
