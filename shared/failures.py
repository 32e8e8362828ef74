"""What kind of failure an error is: the one place that decides, for every path that retries.

* data: the statement's own values were refused (SQLSTATE class 22 data exception, 23
  integrity constraint violation). The same values fail again, so retrying is pointless: an
  upload splits its batch until it finds the lines and rejects them.
* infrastructure: the database, storage or model was unreachable, overloaded or interrupted
  (a broken or refused connection; SQLSTATE 08 connection exception, 40 transaction rollback
  such as a deadlock, 53 insufficient resources, 57 operator intervention such as the
  statement timeout, 58 system error; storage 5xx, 429 and network errors; our own
  ServiceUnavailable family). Retrying may succeed, within a budget.
* bug: anything else (SQLSTATE 42 and other programming errors, a Python exception). Not the
  data's fault and not transient; paths that retry give it the same bounded budget, so a fix
  deployed meanwhile can still finish the work, and report it when the budget is spent.

No class-22/23 code is known to be transient, so those two classes are data throughout.
Only PostgreSQL's own reply carries a SQLSTATE; an exception the driver raised itself while
sending or reading a statement (a value it cannot encode, a broken socket) has none, and
leaves the connection in an unknown protocol state (shared.db discards it).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import exc as sa_exc

from shared.errors import ServiceUnavailable

DATA_CLASSES = frozenset({"22", "23"})
INFRASTRUCTURE_CLASSES = frozenset({"08", "40", "53", "57", "58"})
# the server ends the session after these (FATAL): the connection is gone with it
SESSION_ENDING = frozenset({"57P01", "57P02", "57P03"})
RETRYABLE_HTTP = frozenset({408, 429})  # and every 5xx


class Failure(StrEnum):
    DATA = "data"
    INFRASTRUCTURE = "infrastructure"
    BUG = "bug"


def sqlstate(error: BaseException) -> str | None:
    """PostgreSQL's error code (e.g. 23503 foreign key violation) behind a driver error."""
    return _server_field(error, "C")


def server_message(error: BaseException) -> str | None:
    """PostgreSQL's own message (e.g. 'division by zero'), without the statement or values."""
    return _server_field(error, "M")


def _server_field(error: BaseException, field: str) -> str | None:
    orig = getattr(error, "orig", error)
    args = getattr(orig, "args", None)
    detail = args[0] if args else None
    value = detail.get(field) if isinstance(detail, dict) else None
    return value if isinstance(value, str) else None


def ends_session(code: str | None) -> bool:
    """A server error after which the connection cannot be used (08xxx, shutdown)."""
    return code is not None and (code[:2] == "08" or code in SESSION_ENDING)


def classify(error: BaseException) -> Failure:
    """Data, infrastructure or bug (module docstring); causes are followed (`raise ... from`)."""
    code = sqlstate(error)
    if code is not None:
        if code[:2] in DATA_CLASSES:
            return Failure.DATA
        return Failure.INFRASTRUCTURE if code[:2] in INFRASTRUCTURE_CLASSES else Failure.BUG
    if _infrastructure(error):
        return Failure.INFRASTRUCTURE
    cause = error.__cause__
    return classify(cause) if cause is not None and cause is not error else Failure.BUG


def unreachable(error: BaseException) -> bool:
    """The database could not be reached or the connection broke (no pooled connection free
    in time included): what the HTTP layer answers with 503 (shared.db.transaction)."""
    if isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError):
        return True
    return isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated


def _infrastructure(error: BaseException) -> bool:
    # OSError: sockets, and requests' errors (storage's transport) derive from it too
    if isinstance(error, ServiceUnavailable | OSError) or unreachable(error):
        return True
    return _transient_google(error)


def _transient_google(error: Any) -> bool:
    """Storage's answers (google-api-core: 5xx, 408, 429) and google-auth's transport errors,
    told apart by their module so that no function imports those libraries just to ask."""
    module = type(error).__module__
    if module.startswith("google.api_core"):
        code = getattr(error, "code", None)
        return isinstance(code, int) and (code >= 500 or code in RETRYABLE_HTTP)
    return module.startswith("google.auth") and type(error).__name__ == "TransportError"
