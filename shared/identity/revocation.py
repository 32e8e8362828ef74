"""Is a verified token's account still in good standing? (revoked sessions, disabled users)

firebase-admin's `check_revoked=True` looks the account up on every call: one round trip to
Identity Platform per write, which costs more than the write itself. This asks the same
question (the account is not disabled, and the token was issued after the account's
`tokensValidAfterTime`) against a per-instance cache of the account's standing, kept for
IDENTITY_REVOCATION_CACHE_SECONDS. So a revocation, a disabled account or a role change
(which revokes) is refused on every instance within that many seconds; 0 asks every time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from shared.errors import Unauthorized
from shared.identity.app import get_app
from shared.identity.failures import ACCOUNT_DISABLED, mapped
from shared.identity.remembered import Remembered
from shared.lazy import Lazy
from shared.settings import get_settings

MAX_ACCOUNTS = 10_000  # standings kept per instance (least recently used dropped first)


@dataclass(frozen=True, slots=True)
class Standing:
    disabled: bool
    valid_after_ms: int  # tokens issued before this (ms since the epoch) are revoked
    looked_up: float  # time.monotonic() of the lookup


def check(claims: dict[str, Any], what: str) -> None:
    """Unauthorized (401) if the account behind verified `claims` is disabled, gone, or
    revoked the token; IdentityUnavailable (503) if Identity Platform cannot be asked."""
    standing = _standing(str(claims["uid"]), what)
    if standing.disabled:
        raise Unauthorized(ACCOUNT_DISABLED)
    if int(claims["iat"]) * 1000 < standing.valid_after_ms:
        raise Unauthorized(f"the {what} has been revoked: sign in again")


def _standing(uid: str, what: str) -> Standing:
    ttl = get_settings().identity_revocation_cache_seconds
    standings = _standings.get()
    known = standings.get(uid, lambda standing: time.monotonic() - standing.looked_up < ttl)
    if known is not None:
        return known
    standing = _look_up(uid, what)  # unlocked: other accounts need not wait for this one
    standings.put(uid, standing)
    return standing


def _look_up(uid: str, what: str) -> Standing:
    from firebase_admin import auth

    with mapped(what):
        user = auth.get_user(uid, app=get_app())
    return Standing(
        bool(user.disabled), int(user.tokens_valid_after_timestamp or 0), time.monotonic()
    )


# two threads missing the same account both look it up: harmless, the later value stays
_standings: Lazy[Remembered[str, Standing]] = Lazy(lambda: Remembered(MAX_ACCOUNTS))
