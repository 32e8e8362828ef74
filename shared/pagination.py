"""Opaque keyset cursors: stable pages even while rows are inserted concurrently."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from shared.errors import BadRequest


@dataclass(frozen=True, slots=True)
class Position:
    """The last row of a page: its sort key (as text) and id, the tie-breaker."""

    key: str | None
    id: int


def fingerprint(**filters: Any) -> str:
    """A short digest of the listing's sort and filters; a cursor only fits its own listing."""
    blob = json.dumps(filters, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def encode(position: Position, listing: str) -> str:
    raw = json.dumps([position.key, position.id, listing], ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, listing: str) -> Position:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key, row_id, cursor_listing = json.loads(raw)
    except (ValueError, TypeError) as error:
        raise BadRequest("the cursor is not valid") from error
    valid = (key is None or isinstance(key, str)) and isinstance(row_id, int)
    if not valid or cursor_listing != listing:
        raise BadRequest("the cursor does not belong to this listing (sort or filters changed)")
    return Position(key, row_id)
