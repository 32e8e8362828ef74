"""The console's authorization matrix: who may use which route, as one table's rules.

A route's row names its Access (who may), the status it answers when allowed, and the form it
is sent with; `expected(row, principal)` derives what every principal gets, so a table of
routes (tests/functions/test_web_authz.py, checked against the app's url_map) is the whole
specification. (The API's matrix lives beside it once the two are unified.)

The console's answers to a refusal: a page that needs a signed-in user sends an anonymous
visitor to the sign-in page (303); a write is a 403 page; a signed-in account without the
right gets 403 either way. A session that fails verification (expired, another project's)
counts as anonymous everywhere; one whose account is revoked or disabled is still shown on
public pages (reads do not look the account up) and counts as anonymous wherever a right
is needed (those requests check revocation).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any


class Access(Enum):
    PUBLIC = "anyone"
    SIGNED_IN = "any signed-in account"
    ADMIN = "admins"
    OWN_REVIEW = "the review's writer"
    OWN_REVIEW_OR_ADMIN = "the review's writer, or an admin"


class Principal(StrEnum):
    ANONYMOUS = "anonymous"
    API_KEY = "an API key (the console takes none: anonymous)"
    MEMBER = "member (the review's writer)"
    OTHER_MEMBER = "another member"
    ADMIN = "admin"
    EXPIRED = "expired session"
    OTHER_PROJECT = "another project's session"
    REVOKED = "revoked session"
    DISABLED = "disabled account"


SIGNED_IN = (Principal.MEMBER, Principal.OTHER_MEMBER, Principal.ADMIN)
ALLOWED: dict[Access, frozenset[Principal]] = {
    Access.PUBLIC: frozenset(Principal),
    Access.SIGNED_IN: frozenset(SIGNED_IN),
    Access.ADMIN: frozenset({Principal.ADMIN}),
    Access.OWN_REVIEW: frozenset({Principal.MEMBER}),
    Access.OWN_REVIEW_OR_ADMIN: frozenset({Principal.MEMBER, Principal.ADMIN}),
}
REFUSED_PAGE = 303  # to the sign-in page, and back after
REFUSED = 403


@dataclass(frozen=True)
class Row:
    method: str
    rule: str  # as the app's url_map spells it
    access: Access
    ok: int  # the status when allowed
    form: dict[str, Any] | None = None  # POST fields (a CSRF token is added)
    fresh_objects: bool = False  # destructive: a new movie and review for every principal
    fresh_accounts: bool = False  # ends sessions: new accounts for every principal

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.rule


def expected(row: Row, principal: Principal) -> int:
    if principal in ALLOWED[row.access]:
        return row.ok
    if principal in SIGNED_IN:
        return REFUSED
    return REFUSED_PAGE if row.method == "GET" else REFUSED
