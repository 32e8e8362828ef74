"""Verify an ID token (API calls) or a session cookie (the console) into an Identity.

The API takes either as `Authorization: Bearer <token>` (the console acts with its user's
session cookie): the token's unverified issuer says which it claims to be, and the matching
firebase-admin call then verifies it in full, so claiming the other kind gains nothing.

`check_revoked=True` also checks the account's standing (shared/identity/revocation.py: a
lookup cached per instance for IDENTITY_REVOCATION_CACHE_SECONDS): a revoked or disabled
account is refused within those seconds rather than when its token expires (at most an
hour; for a session cookie, its whole lifetime). Writes and account pages ask for it.
A token verified once is accepted again without the signature work until it expires
(shared/identity/verified.py).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from shared.errors import Unauthorized
from shared.identity import revocation, verified
from shared.identity.app import get_app
from shared.identity.claims import Identity
from shared.identity.failures import mapped

# Firebase ID tokens and session cookies are ~1 KB (custom claims are capped at 1,000
# bytes); anything far larger is refused before it is parsed.
MAX_TOKEN_CHARS = 8192
BEARER = "bearer "
# Firebase's own "anonymous" accounts (if the project ever enabled them) are no identity here:
# anonymous visitors only read, and a member must be someone who signed up.
ANONYMOUS_PROVIDER = "anonymous"
SESSION_COOKIE_ISSUER = "https://session.firebase.google.com/"


def verify_id_token(token: str, *, check_revoked: bool = False) -> Identity:
    """The Identity of a Firebase ID token; Unauthorized (401) if it is not acceptable,
    IdentityUnavailable (503) if Identity Platform cannot be asked."""
    return _verify(token, "ID token", "verify_id_token", check_revoked)


def verify_session_cookie(cookie: str, *, check_revoked: bool = False) -> Identity:
    """The Identity of a Firebase session cookie; errors as verify_id_token."""
    return _verify(cookie, "session cookie", "verify_session_cookie", check_revoked)


def _verify(token: str, what: str, call: str, check_revoked: bool) -> Identity:
    """`what` verified by firebase-admin's `call` (once per token: verified.py)."""
    _check_shape(token, what)
    from firebase_admin import auth

    app = get_app()
    with mapped(what):
        claims = verified.claims(what, token, app, lambda: getattr(auth, call)(token, app=app))
    if check_revoked:
        revocation.check(claims, what)
    return _signed_up(Identity.from_claims(claims))


def identity_from_authorization(
    header: str | None, *, check_revoked: bool = False
) -> Identity | None:
    """The caller of an `Authorization` header: None (anonymous) when there is none,
    the Identity of `Bearer <ID token or session cookie>`, Unauthorized for any other form."""
    if header is None:
        return None
    if header[: len(BEARER)].lower() != BEARER:
        raise Unauthorized("the Authorization header must be 'Bearer <Firebase ID token>'")
    return verify_bearer(header[len(BEARER) :].strip(), check_revoked=check_revoked)


def verify_bearer(token: str, *, check_revoked: bool = False) -> Identity:
    """The Identity of a bearer token: a session cookie if its issuer says so, else an ID
    token; errors as verify_id_token."""
    _check_shape(token, "token")
    if _unverified_issuer(token).startswith(SESSION_COOKIE_ISSUER):
        return verify_session_cookie(token, check_revoked=check_revoked)
    return verify_id_token(token, check_revoked=check_revoked)


def _unverified_issuer(token: str) -> str:
    """The `iss` claim as the token states it ("" if it has none it can state)."""
    issuer = unverified_claims(token).get("iss")
    return issuer if isinstance(issuer, str) else ""


def unverified_claims(token: str) -> dict[str, Any]:
    """A JWT's claims as it states them, unverified ({} if it states none): only to choose
    how to verify it, or for a token read from its issuer over TLS."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = json.loads(payload)
    except (binascii.Error, ValueError, RecursionError):  # not JSON, or absurdly nested
        return {}
    return claims if isinstance(claims, dict) else {}


def _check_shape(token: object, what: str) -> None:
    if not isinstance(token, str) or not token:
        raise Unauthorized(f"no {what} was sent")
    if len(token) > MAX_TOKEN_CHARS or not token.isascii():
        raise Unauthorized(f"the {what} is not valid for this site")


def _signed_up(identity: Identity) -> Identity:
    if identity.sign_in_provider == ANONYMOUS_PROVIDER:
        raise Unauthorized("an anonymous Firebase account is no identity here: sign up")
    return identity
