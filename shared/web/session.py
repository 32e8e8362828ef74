"""Who is signed in to the console: a Firebase session cookie, verified on every request.

Sign-in puts a Firebase session cookie (shared.identity.create_session_cookie) into the cookie
`__Host-session`: HttpOnly (no script reads it), Secure, SameSite=Lax (a cross-site form post
does not carry it), Path=/ and no Domain (the `__Host-` prefix makes browsers insist on all
that). Chromium, Firefox and Safari accept Secure cookies from http://127.0.0.1 and
http://localhost (trustworthy origins; the browser tests prove it for Chromium), so the
attributes are the same under `make run` as in the cloud.

Every request that looks at the user verifies the cookie: signature, expiry, audience and
issuer, with no network call once Google's certificates are cached. Writes and the pages that
lead to them verify it with check_revoked, which also looks the account up, so a revoked,
disabled or deleted account is refused at once. A cookie that fails is no cookie: the request
is anonymous and the browser is told to drop it.

The cookie is also the user's credential towards the API (`Authorization: Bearer`): the
console holds no key and can do only what the signed-in user may.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import flask
from werkzeug.wrappers import Response as BaseResponse

from shared.errors import IdentityUnavailable, Unauthorized
from shared.identity import Identity, Permission, verify_session_cookie
from shared.settings import get_settings

COOKIE = "__Host-session"
# what a __Host- cookie of the console is: the whole site's, HTTPS only, out of scripts' reach,
# sent on top-level navigations from elsewhere (a link to a page; never another site's POST)
COOKIE_ATTRIBUTES: dict[str, Any] = {
    "path": "/",
    "secure": True,
    "httponly": True,
    "samesite": "Lax",
}
log = logging.getLogger("shared.web")
_USER = "console_user"  # flask.g: the verified user (or None) of this request
_CHECKED = "console_user_checked"  # flask.g: the same, with revocation checked
_DROP = "console_drop_session"  # flask.g: tell the browser to forget the cookie


@dataclass(frozen=True, slots=True)
class User:
    """The signed-in user of a request: who the cookie says, and the cookie itself."""

    identity: Identity
    cookie: str  # the session cookie: the user's bearer credential towards the API

    @property
    def uid(self) -> str:
        return self.identity.uid

    @property
    def name(self) -> str:
        """What the site calls the user (the name others see, Identity.public_name)."""
        return self.identity.public_name or ""

    def may(self, permission: Permission) -> bool:
        return self.identity.allows(permission)


class Refused(Exception):
    """The request needs a signed-in user (`user` None), or one with another right."""

    def __init__(self, user: User | None) -> None:
        super().__init__("refused")
        self.user = user


def current_user() -> User | None:
    """The signed-in user, verified once per request without the revocation check (reads:
    what to show). Identity Platform out of reach makes the request anonymous, not an error."""
    if _USER not in flask.g:
        try:
            setattr(flask.g, _USER, _verified(check_revoked=False))
        except IdentityUnavailable:
            log.warning("session not verified (identity service unavailable): shown anonymous")
            return None
    user: User | None = getattr(flask.g, _USER)
    return user


def checked_user() -> User | None:
    """The signed-in user with revocation checked (writes, account and admin pages); None if
    there is none or the account is revoked, disabled or deleted. IdentityUnavailable (503)
    when Identity Platform cannot be asked: a write is never let through unchecked."""
    if _CHECKED not in flask.g:
        user = _verified(check_revoked=True)
        setattr(flask.g, _CHECKED, user)
        setattr(flask.g, _USER, user)
    checked: User | None = getattr(flask.g, _CHECKED)
    return checked


def require(permission: Permission | None = None) -> User:
    """The checked user, who holds `permission` if one is named; else Refused (the app answers
    403, or sends an anonymous visitor of a page to the sign-in page)."""
    user = checked_user()
    if user is None or (permission is not None and not user.may(permission)):
        raise Refused(user)
    return user


def _verified(*, check_revoked: bool) -> User | None:
    cookie = flask.request.cookies.get(COOKIE)
    if not cookie:
        return None
    try:
        identity = verify_session_cookie(cookie, check_revoked=check_revoked)
    except Unauthorized as refused:
        log.info("session cookie refused: %s", refused.detail)
        setattr(flask.g, _DROP, True)
        return None
    return User(identity, cookie)


def start(response: BaseResponse, cookie: str) -> BaseResponse:
    """Give the browser a new session (after sign-up, sign-in or a rename)."""
    max_age = get_settings().session_cookie_max_age_seconds
    response.set_cookie(COOKIE, cookie, max_age=max_age, **COOKIE_ATTRIBUTES)
    flask.g.pop(_DROP, None)
    return response


def end(response: BaseResponse) -> BaseResponse:
    """Make the browser forget its session cookie."""
    response.delete_cookie(COOKIE, **COOKIE_ATTRIBUTES)
    return response


def forget() -> None:
    """Make this request's response drop the session cookie (its account is gone)."""
    setattr(flask.g, _DROP, True)


def drop_refused(response: flask.Response) -> flask.Response:
    """after_request: a cookie that failed verification is deleted from the browser."""
    if flask.g.get(_DROP) and flask.request.cookies.get(COOKIE):
        end(response)
    return response
