"""Google-signed ID tokens for the functions when they are not public (`public_invoker = false`).

Then Cloud Run admits only principals holding roles/run.invoker on a function, proven by a
Google-signed ID token whose audience is the function's URL. The console's service account
holds that role (terraform/modules/system/web.tf) and, with API_ID_TOKENS set (Terraform sets
it exactly when public_invoker is false), sends its token in `X-Serverless-Authorization`:
Cloud Run checks IAM on that header and passes `Authorization` (the signed-in user's session
cookie) through to the function untouched. Sources: Google's "Authenticating
service-to-service" (cloud.google.com/run/docs/authenticating/service-to-service#acquire-token),
confirmed by Cloud Run's product manager in GoogleCloudPlatform/cloud-run-proxy#25 ("If
X-Serverless-Authorization and Authorization are both present, cloud run will use
X-Serverless-Authorization for authorizing"), and pomerium/pomerium#6268 ("passes
Authorization through to the container untouched"). In `Authorization` the token would
displace the user's credential (and Cloud Run would strip its signature).

The tokens come from the metadata server (google-auth's fetch_id_token), one per audience,
and are kept until REFRESH_BEFORE_SECONDS before they expire (Google issues them for an hour):
a page's API calls add no round trip.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from dataclasses import dataclass

import urllib3

from shared.lazy import Lazy
from shared.settings import get_settings

HEADER = "X-Serverless-Authorization"
REFRESH_BEFORE_SECONDS = 300.0
FALLBACK_LIFETIME = 600.0  # a token whose expiry cannot be read is kept this long
log = logging.getLogger("shared.web")


class TokenUnavailable(RuntimeError):
    """The metadata server gave no ID token (the function cannot be called now)."""


@dataclass(frozen=True, slots=True)
class _Token:
    value: str
    expires_at: float  # Unix seconds


class IdTokens:
    """ID tokens by audience: fetched on first use, again when one is about to expire."""

    def __init__(self) -> None:
        self._tokens: dict[str, _Token] = {}
        self._lock = threading.Lock()
        self._http = urllib3.PoolManager(num_pools=1, maxsize=2)

    def get(self, audience: str) -> str:
        token = self._tokens.get(audience)
        if token is None or _expiring(token):
            with self._lock:  # one fetch at a time; the others then find it
                token = self._tokens.get(audience)
                if token is None or _expiring(token):
                    token = self._fetch(audience)
                    self._tokens[audience] = token
        return token.value

    def _fetch(self, audience: str) -> _Token:
        import google.auth.exceptions
        import google.auth.transport.urllib3
        import google.oauth2.id_token

        request = google.auth.transport.urllib3.Request(self._http)  # type: ignore[no-untyped-call]
        try:
            value = google.oauth2.id_token.fetch_id_token(request, audience)  # type: ignore[no-untyped-call]
        except google.auth.exceptions.GoogleAuthError as error:
            log.warning("no ID token for %s: %s: %s", audience, type(error).__name__, error)
            raise TokenUnavailable(audience) from None
        return _Token(str(value), _expiry(str(value)))

    def close(self) -> None:
        self._http.clear()


def _expiring(token: _Token) -> bool:
    return token.expires_at - time.time() < REFRESH_BEFORE_SECONDS


def _expiry(token: str) -> float:
    """The token's `exp`, read without a check: it only decides when to fetch a new one (the
    receiving side verifies it)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"])
    except (IndexError, ValueError, KeyError, TypeError):
        return time.time() + FALLBACK_LIFETIME


_tokens: Lazy[IdTokens] = Lazy(IdTokens, close=IdTokens.close)


def headers(audience: str) -> dict[str, str]:
    """The header that lets the console invoke a function at `audience` (its URL): none
    while the functions are public; TokenUnavailable if no token can be had."""
    if not get_settings().api_id_tokens:
        return {}
    return {HEADER: f"Bearer {_tokens.get().get(audience)}"}
