"""Tokens this instance has verified already, remembered until they expire.

A client sends the same ID token (or session cookie) with every request for up to an hour,
and verifying it again costs the same each time: firebase-admin parses Google's certificate
and checks the RSA signature on every call (~0.5 ms alone, more inside a request). A token
is immutable and its signature, audience and issuer cannot become wrong later, so a token
verified once by this App is accepted again without the work until its `exp`. Only
acceptance is remembered: a token refused once is verified (and refused) again each time,
and past its `exp` a remembered token is verified again, so firebase-admin refuses it as
expired. Revocation is not this module's: check_revoked asks about the account on every
write (shared/identity/revocation.py).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shared.identity.remembered import Remembered
from shared.lazy import Lazy

MAX_TOKENS = 10_000  # per instance (least recently used dropped first): ~10 MB at most


@dataclass(frozen=True, slots=True)
class _Verified:
    app: object  # the firebase_admin.App that verified it (a new App trusts nothing old)
    claims: dict[str, Any]
    expires: float  # the token's exp (seconds since the epoch)


def claims(kind: str, token: str, app: object, verify: Callable[[], dict[str, Any]]) -> Any:
    """The claims of `token` (`kind`: an ID token or a session cookie), from `verify()` unless
    `app` verified this very token before and it has not expired; `verify`'s errors as they
    are."""
    key = hashlib.sha256(f"{kind}\x00{token}".encode()).digest()
    tokens = _tokens.get()
    known = tokens.get(key, lambda seen: seen.app is app and _now() < seen.expires)
    if known is not None:
        return known.claims
    verified = verify()
    tokens.put(key, _Verified(app, verified, float(verified["exp"])))
    return verified


_now = time.time  # the clock the expiry is read on (tests move it)
_tokens: Lazy[Remembered[bytes, _Verified]] = Lazy(lambda: Remembered(MAX_TOKENS))
