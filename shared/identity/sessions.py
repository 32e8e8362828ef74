"""The console's sessions: a Firebase session cookie made from a fresh sign-in, and the
revocation that ends every session of an account (sign-out, a role change)."""

from __future__ import annotations

import time
from datetime import timedelta

from shared.errors import Unauthorized
from shared.identity.app import get_app
from shared.identity.failures import mapped
from shared.identity.verify import verify_id_token
from shared.settings import get_settings

# Firebase's advice: mint a session cookie only from a sign-in of the last few minutes, so
# a stolen ID token cannot be turned into a long session.
RECENT_SIGN_IN_SECONDS = 5 * 60


def create_session_cookie(id_token: str) -> str:
    """A session cookie for the account that signed in moments ago with `id_token`.

    It lives SESSION_COOKIE_MAX_AGE_SECONDS. Unauthorized (401) if the token is not valid or
    its sign-in is over five minutes old; IdentityUnavailable (503) if Identity Platform
    cannot be reached.
    """
    identity = verify_id_token(id_token)
    if time.time() - identity.signed_in_at > RECENT_SIGN_IN_SECONDS:
        raise Unauthorized("the sign-in is too old to start a session: sign in again")
    from firebase_admin import auth

    lifetime = timedelta(seconds=get_settings().session_cookie_max_age_seconds)
    with mapped("ID token"):
        cookie: str = auth.create_session_cookie(id_token, lifetime, app=get_app())
    return cookie


def revoke_sessions(uid: str) -> None:
    """End every session of `uid`: its refresh tokens now, and (for callers that verify
    with check_revoked) its ID tokens and session cookies issued until now."""
    from firebase_admin import auth

    with mapped("account"):
        auth.revoke_refresh_tokens(uid, app=get_app())
