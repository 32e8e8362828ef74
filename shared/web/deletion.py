"""A user deletes their own account: their reviews first, then the account, never half-gone.

The states of an account, across requests:

    ACTIVE ──(1) DELETE /reviews/mine──▶ REVIEWS_GONE ──(2) delete the account──▶ GONE
      ▲  failure: nothing changed          │  failure: retried here, then by the user
      └────────────────────────────────────┘  (the same form runs (1) again: a no-op)

(1) The reviews API deletes every review of the caller in one database transaction (the
    rating aggregates follow through the triggers): all of them or, on any failure, none.
    A failure leaves the account ACTIVE with all its reviews; the user is told to retry.
(2) The account is deleted in Identity Platform (accounts:delete, through firebase-admin:
    the console's identity may delete accounts; the password the form asks for has just been
    checked by a fresh sign-in). A failure there leaves REVIEWS_GONE: it is retried at once,
    ATTEMPTS times with a growing pause; if Identity Platform still cannot be reached, the
    page says the reviews are gone and the account is not, and the same form retries (1),
    idempotent (0 reviews deleted), then (2). "No such account" counts as done: an earlier
    attempt may have deleted it and lost the answer.

Reviews go first because the other order could strand them: an account deleted before its
reviews can no longer sign in to finish the job. A review written from another browser
between (1) and (2) would outlive the account (with its author name and a uid nobody holds);
an admin can delete it like any review.
"""

from __future__ import annotations

import logging
import time
from enum import StrEnum

from shared.errors import IdentityUnavailable, NotFound
from shared.identity import accounts
from shared.web import api

ATTEMPTS = 3
FIRST_PAUSE_SECONDS = 0.5
log = logging.getLogger("shared.web")


class Deletion(StrEnum):
    GONE = "gone"  # reviews and account deleted
    REVIEWS_GONE = "reviews gone"  # the reviews are deleted, the account is not (yet)


def delete_account(uid: str, session_cookie: str) -> Deletion:
    """Run the steps above for the signed-in user `uid`. ApiProblem / ApiUnavailable if (1)
    fails (nothing changed); REVIEWS_GONE if (2) still fails after its retries."""
    api.delete_my_reviews(session_cookie)
    pause = FIRST_PAUSE_SECONDS
    for attempt in range(1, ATTEMPTS + 1):
        try:
            accounts.delete_account(uid)
        except NotFound:
            return Deletion.GONE
        except IdentityUnavailable:
            log.warning("account %s: deletion attempt %d of %d failed", uid, attempt, ATTEMPTS)
            if attempt < ATTEMPTS:
                time.sleep(pause)
                pause *= 2
            continue
        return Deletion.GONE
    return Deletion.REVIEWS_GONE
