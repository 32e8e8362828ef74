"""Who a review's author is: an account's own name, or the name a service client gives.

An account (member or admin) writes as itself: the author is its display name (else its
email's local part), made to fit the column, and an `author` in its request is a 422. A
service client (X-API-Key: imports, scripts) names the author, and must.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from shared.errors import ValidationFailed
from shared.identity.principal import Principal
from shared.schemas.common import SINGLE_LINE_BAD
from shared.schemas.reviews import AUTHOR_MAX

NAMELESS = "회원"  # an account with neither a display name nor an email ("member")
ACCOUNTS_DO_NOT_NAME = "the author of an account's review is its display name: leave author out"
KEYS_NAME = "an API key client names the author"
_CONTROLS = re.compile(f"[{SINGLE_LINE_BAD}]")


def authors(
    principal: Principal, requested: Sequence[str | None], fields: Sequence[str]
) -> list[str]:
    """The author of each review `principal` writes, given the `author` each request named
    (None: none) at `fields` (where a 422 points)."""
    if principal.is_account:
        named = [f for f, author in zip(fields, requested, strict=True) if author is not None]
        if named:
            raise _refused(named, ACCOUNTS_DO_NOT_NAME, "extra_forbidden")
        return [account_author(principal.name)] * len(requested)
    given = [author for author in requested if author is not None]
    if len(given) < len(requested):
        missing = [f for f, author in zip(fields, requested, strict=True) if author is None]
        raise _refused(missing, KEYS_NAME, "missing")
    return given


def check_renaming(principal: Principal) -> None:
    """An edit that changes `author`: a service client's only (422 for an account)."""
    if principal.is_account:
        raise _refused(["author"], ACCOUNTS_DO_NOT_NAME, "extra_forbidden")


def account_author(name: str | None) -> str:
    """An account's name as a review's author: one line of at most AUTHOR_MAX characters
    (a display name is whatever its owner typed)."""
    text = (name or "").encode("utf-8", "replace").decode()  # no lone surrogates
    text = " ".join(_CONTROLS.sub(" ", text).split())[:AUTHOR_MAX].strip()
    return text or NAMELESS


def _refused(fields: Sequence[str], message: str, kind: str) -> ValidationFailed:
    return ValidationFailed(
        message, errors=[{"field": field, "message": message, "type": kind} for field in fields]
    )
