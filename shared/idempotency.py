"""Idempotency-Key handling: same key and body replays the response, another body is 409."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from shared.errors import BadRequest, Conflict

KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no spaces
TTL = "24 hours"


@dataclass(frozen=True, slots=True)
class Stored:
    status: int
    response: Any


def parse_key(header: str | None) -> str | None:
    if header is None:
        return None
    if not KEY_PATTERN.match(header):
        raise BadRequest("Idempotency-Key must be 1..255 printable ASCII characters")
    return header


def request_hash(operation: str, raw_body: bytes) -> str:
    """Hash of the operation and the body's JSON meaning (key order and spacing ignored)."""
    canonical = json.dumps(json.loads(raw_body), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(f"{operation}\n{canonical}".encode()).hexdigest()


def claim(conn: sa.Connection, key: str, digest: str) -> Stored | None:
    """Serialise requests with this key; return the stored response if it was seen before."""
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": key})
    conn.execute(
        sa.text(
            f"DELETE FROM idempotency_keys WHERE key = :k"
            f" AND created_at < clock_timestamp() - interval '{TTL}'"
        ),
        {"k": key},
    )
    row = conn.execute(
        sa.text("SELECT request_hash, status, response FROM idempotency_keys WHERE key = :k"),
        {"k": key},
    ).one_or_none()
    if row is None:
        return None
    if row.request_hash != digest:
        raise Conflict("this Idempotency-Key was used with a different request body")
    return Stored(row.status, row.response)


def remember(conn: sa.Connection, key: str, digest: str, status: int, response: Any) -> None:
    conn.execute(
        sa.text(
            "INSERT INTO idempotency_keys (key, request_hash, status, response)"
            " VALUES (:k, :h, :s, CAST(:r AS jsonb))"
        ),
        {"k": key, "h": digest, "s": status, "r": json.dumps(response, ensure_ascii=False)},
    )
