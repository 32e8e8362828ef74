"""firebase-admin's exceptions in our error hierarchy: 401 for a credential we refuse, 404
for an account that does not exist, 503 when Identity Platform cannot be reached."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from shared.errors import ApiError, IdentityUnavailable, NotFound, Unauthorized

log = logging.getLogger("shared.identity")
ACCOUNT_DISABLED = "the account is disabled"  # the console tells its users so, in its words


@contextmanager
def mapped(what: str) -> Iterator[None]:
    """Run firebase-admin calls about `what` ("ID token", "session cookie", "account")."""
    from firebase_admin import auth, exceptions
    from google.auth.exceptions import GoogleAuthError

    try:
        yield
    except (auth.ExpiredIdTokenError, auth.ExpiredSessionCookieError):
        raise Unauthorized(f"the {what} has expired: sign in again") from None
    except auth.UserDisabledError:  # e.g. a session cookie asked for a disabled account
        raise Unauthorized(ACCOUNT_DISABLED) from None
    except auth.UserNotFoundError:
        raise _not_found(what) from None
    except (auth.InvalidIdTokenError, auth.InvalidSessionCookieError) as error:
        # a bad signature, another project's token, a malformed one: the details are ours
        log.info("refused %s: %s", what, error)
        raise Unauthorized(f"the {what} is not valid for this site") from None
    except (exceptions.FirebaseError, GoogleAuthError) as error:
        # certificates, account lookups or credentials out of reach (or refused): retry later
        log.warning("identity platform unavailable: %s: %s", type(error).__name__, error)
        raise IdentityUnavailable("identity service unavailable; retry shortly") from None


def _not_found(what: str) -> ApiError:
    # a deleted account's token is refused like any other; an operator's lookup is a 404
    if what == "account":
        return NotFound("no such account")
    return Unauthorized("the account no longer exists")
