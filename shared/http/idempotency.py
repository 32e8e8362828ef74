"""Idempotency-Key: a retry with the same key and request replays the first response exactly.

once() wraps any write that renders a response (a Rendered). The write and the remembered response
commit in one unit of work, under a lock on the key, so concurrent retries run the write
once; a replay returns the stored status, body bytes and headers unchanged. The same key
with another request is a 409. Keys are kept for TTL.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import flask
import sqlalchemy as sa
from pydantic import BaseModel

from shared import db
from shared.errors import BadRequest, Conflict
from shared.http.credentials import Caller
from shared.http.replies import Rendered

HEADER = "Idempotency-Key"
KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"  # printable ASCII, no spaces (documented in OpenAPI)
TTL = "24 hours"
_CUTOFF = f"clock_timestamp() - interval '{TTL}'"  # rows created before it have expired


def request_key(request: flask.Request) -> str | None:
    """The request's Idempotency-Key, if it sent one; a malformed key is a 400."""
    key = request.headers.get(HEADER)
    if key is not None and not re.fullmatch(KEY_PATTERN, key):
        raise BadRequest(f"{HEADER} must be 1..255 printable ASCII characters")
    return key


def fingerprint(operation: str, arguments: Mapping[str, Any], caller: Caller) -> str:
    """A digest of the operation, its validated arguments (key order and spacing ignored) and
    who asks: a key is its caller's own, so another caller's request with it is a 409, never
    a replay of someone else's response."""
    shape = {
        name: value.model_dump(mode="json") if isinstance(value, BaseModel) else value
        for name, value in arguments.items()
        if name not in ("caller", "principal")
    }
    principal = caller.principal()
    shape["caller"] = principal.client if principal else "anonymous"
    canonical = json.dumps(shape, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(f"{operation}\n{canonical}".encode()).hexdigest()


# The key's row, claimed for this transaction: a new key, or one past its TTL taken over. A
# concurrent claim of the same key waits on the primary key until this transaction ends; a
# live key is left alone (no row comes back). Status 0 marks a response not yet made.
_CLAIM = sa.text(f"""
INSERT INTO idempotency_keys (key, request_hash, status, body, headers)
VALUES (:k, :h, 0, '', '{{}}')
ON CONFLICT (key) DO UPDATE SET request_hash = excluded.request_hash, status = 0, body = '',
    headers = '{{}}', created_at = clock_timestamp()
WHERE idempotency_keys.created_at < {_CUTOFF}
RETURNING 1
""")  # noqa: S608
_FIND = sa.text(
    "SELECT request_hash, status, body, headers FROM idempotency_keys"  # noqa: S608
    f" WHERE key = :k AND created_at >= {_CUTOFF}"
)
_REMEMBER = sa.text(
    "UPDATE idempotency_keys SET status = :s, body = :b, headers = CAST(:headers AS jsonb)"
    " WHERE key = :k"
)


def once(key: str, digest: str, respond: Callable[[], Rendered]) -> Rendered:
    """The response of the first request with this key: run `respond` at most once.

    One transaction (one pooled connection) whatever happens: claim the key, then either
    do the work and remember its response, or replay what the key's first request stored.
    (Earlier an advisory lock, a look-up and an upsert: one round trip more for every new
    key, and a look-up in a transaction of its own before that cost a second connection.)
    """
    with db.unit_of_work() as conn:  # the write inside `respond` joins this transaction
        while conn.execute(_CLAIM, {"k": key, "h": digest}).first() is None:
            stored = _find(conn, key, digest)
            if stored is not None:
                return stored
            # expired between the claim and the look-up: claim it again
        response = respond()
        conn.execute(
            _REMEMBER,
            {
                "k": key,
                "s": response.status,
                "b": response.body,
                "headers": json.dumps(response.headers),
            },
        )
    return response


def _find(conn: sa.Connection, key: str, digest: str) -> Rendered | None:
    """The stored response for a live key; Conflict if the key came with another request."""
    row = conn.execute(_FIND, {"k": key}).one_or_none()
    if row is None:
        return None
    if row.request_hash != digest:
        raise Conflict(f"this {HEADER} was used with a different request")
    headers = row.headers if isinstance(row.headers, dict) else json.loads(row.headers)
    return replace(Rendered(row.status, row.body, headers), replayed=True)
