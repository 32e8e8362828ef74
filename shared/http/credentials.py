"""The credentials of one request, and the Principal they prove.

A request carries one credential at most:
- `X-API-Key: <key>`: a service client (role "service"), compared in constant time with
  every key of API_KEYS; a key that matches none is a 403;
- `Authorization: Bearer <token>`: an account, the token being a Firebase ID token or the
  console's session cookie (shared.identity.verify tells them apart), verified in full with
  the revocation check: a malformed, expired, revoked, disabled, deleted or another
  project's token is a 401;
- neither: anonymous.
Both at once is a 400: which one should count is the client's bug to fix, not ours to guess.

Nothing is verified until a route asks (Caller.require, Caller.account_uid): a public route
never asks, so a credential there costs nothing and grants nothing.
"""

from __future__ import annotations

import hmac

from werkzeug.datastructures import Headers

from shared.errors import BadRequest, Forbidden, Unauthorized
from shared.identity.principal import Principal
from shared.identity.roles import Permission
from shared.identity.verify import identity_from_authorization
from shared.settings import get_settings

API_KEY_HEADER = "X-API-Key"
AUTHORIZATION_HEADER = "Authorization"
# RFC 9110 challenges: which credentials would do (no credential sent), or that the token
# sent is refused (RFC 6750's invalid_token)
CHALLENGE = "Bearer, ApiKey"
INVALID_TOKEN = 'Bearer error="invalid_token"'  # noqa: S105  (a challenge, not a secret)


class Caller:
    """Who sent a request, verified on first use and then remembered for the request."""

    def __init__(self, headers: Headers) -> None:
        self._key = headers.get(API_KEY_HEADER) or None  # an empty header is no credential
        self._authorization = headers.get(AUTHORIZATION_HEADER) or None
        if self._key is not None and self._authorization is not None:
            raise BadRequest(
                f"send one credential, {API_KEY_HEADER} or {AUTHORIZATION_HEADER}, not both"
            )
        self._principal: Principal | None = None

    @property
    def anonymous(self) -> bool:
        return self._key is None and self._authorization is None

    def principal(self) -> Principal | None:
        """Who the credential proves, None for no credential; 401/403 for one that proves no one,
        503 when Identity Platform cannot be asked."""
        if self._principal is None and not self.anonymous:
            self._principal = self._service() if self._key is not None else self._account()
        return self._principal

    def require(self, permission: Permission) -> Principal:
        """The Principal, if it holds `permission`: 401 without a credential, 403 without the
        permission."""
        principal = self.principal()
        if principal is None:
            raise Unauthorized(
                f"this operation needs a signed-in user's token ({AUTHORIZATION_HEADER}: "
                f"Bearer) or an {API_KEY_HEADER}",
                headers={"WWW-Authenticate": CHALLENGE},
            )
        if not principal.allows(permission):
            raise Forbidden(f"the {principal.role} role may not do this")
        return principal

    def account_uid(self, permission: Permission) -> str:
        """The uid of the account asking about its own things (require(), and 400 for a key)."""
        return self.require(permission).own_uid()

    def _service(self) -> Principal:
        assert self._key is not None
        supplied = self._key.encode("utf-8", "surrogateescape")
        matched: int | None = None
        for number, key in enumerate(get_settings().api_keys):  # every key: timing leaks nothing
            if hmac.compare_digest(supplied, key.get_secret_value().encode()):
                matched = number
        if matched is None:
            raise Forbidden("the API key is not valid")
        return Principal.service(matched)

    def _account(self) -> Principal:
        try:
            identity = identity_from_authorization(self._authorization, check_revoked=True)
        except Unauthorized as refused:
            refused.headers.setdefault("WWW-Authenticate", INVALID_TOKEN)
            raise
        assert identity is not None  # an Authorization header was sent
        return Principal.account(identity)
