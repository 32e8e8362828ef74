"""Keyset pages with signed, opaque cursors: one helper for every listing.

A page holds the rows strictly after the cursor's (sort key, id) in the listing's order,
so pages stay stable while rows are inserted. A cursor is base64url(JSON [key, id]) plus an
HMAC over it and the listing's scope (resource, order, filters) with a key from settings:
a cursor cannot be forged, nor used with another listing. Every decoded part is validated
all the same (a rotated key, a bug elsewhere), and any problem is a 400, never a 5xx.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa

from shared import db
from shared.errors import BadRequest
from shared.schemas.common import storable_text, storable_timestamp
from shared.settings import get_settings

MAX_ID = 2**63 - 1
MAX_TEXT_KEY = 1000  # characters; sort keys are titles (<= 200) and the like
SIGNATURE_BYTES = 16


def _timestamp(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError("a timestamp key needs its time zone")
    return storable_timestamp(value)


def _text(text: str) -> str:
    if len(text) > MAX_TEXT_KEY:
        raise ValueError("text key too long")
    return storable_text(text)


def _date(text: str) -> str:
    if text != "-infinity":  # the sort key of a movie without a release date
        date.fromisoformat(text)
    return text


def _numeric(text: str) -> Decimal:
    value = Decimal(text)
    if not value.is_finite() or abs(value) > 1_000_000:
        raise ValueError("not a finite rating key")
    return value


def _integer(text: str) -> int:
    if not text.isascii() or not text.isdigit():
        raise ValueError("not a count key")
    value = int(text)
    if value >= 2**31:
        raise ValueError("count key out of range")
    return value


# SQL type of a sort key -> parser of the key's text (as PostgreSQL printed it) into the
# value that is bound back; a parser raises ValueError for anything its type cannot hold
KEY_PARSERS: dict[str, Callable[[str], object]] = {
    "timestamptz": _timestamp,
    "text": _text,
    "date": _date,
    "numeric": _numeric,
    "integer": _integer,
}


@dataclass(frozen=True, slots=True)
class Keyset:
    """A listing order: a sort-key expression (matching an index) and the id tie-breaker."""

    key: str
    key_type: str
    descending: bool = False
    id: str = "id"

    def __post_init__(self) -> None:
        if self.key_type not in KEY_PARSERS:
            raise ValueError(f"no cursor parser for {self.key_type}")


@dataclass(frozen=True, slots=True)
class Listing:
    """One listing query: what to select, from where, filtered how, in which order.

    Fragments are SQL written in this package; values go as bind parameters only.
    `name` and `params` (the filters) scope the cursor: it fits this listing alone.
    """

    name: str
    columns: str
    source: str
    order: Keyset
    where: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Position:
    """The last row of a page: its sort key (as text) and id."""

    key: str
    id: int


def _secret() -> bytes:
    return get_settings().cursor_secret.get_secret_value().encode()


def _scope(listing: Listing) -> bytes:
    order = listing.order
    scope = [listing.name, order.key, order.descending, listing.params]
    return json.dumps(scope, sort_keys=True, default=str, ensure_ascii=False).encode()


def _signature(payload: bytes, listing: Listing) -> bytes:
    message = _scope(listing) + b"\n" + payload
    return hmac.new(_secret(), message, hashlib.sha256).digest()[:SIGNATURE_BYTES]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode(position: Position, listing: Listing) -> str:
    payload = json.dumps([position.key, position.id], ensure_ascii=False).encode()
    return f"{_b64(payload)}.{_b64(_signature(payload, listing))}"


def decode(cursor: str, listing: Listing) -> tuple[object, int]:
    """The cursor's (typed sort key, id); BadRequest unless it is one of ours, for this listing."""
    try:
        encoded_payload, encoded_signature = cursor.split(".")
        payload, signature = _unb64(encoded_payload), _unb64(encoded_signature)
    except (ValueError, binascii.Error):
        raise BadRequest("the cursor is not valid") from None
    if not hmac.compare_digest(signature, _signature(payload, listing)):
        raise BadRequest("the cursor is not valid for this listing (sort or filters changed)")
    try:
        key, row_id = json.loads(payload)
        if not isinstance(key, str) or type(row_id) is not int or not 1 <= row_id <= MAX_ID:
            raise ValueError("malformed position")
        return KEY_PARSERS[listing.order.key_type](key), row_id
    except (ValueError, TypeError, InvalidOperation):
        raise BadRequest("the cursor is not valid") from None


def page_query(listing: Listing, limit: int, cursor: str | None) -> tuple[str, dict[str, Any]]:
    """The SQL and parameters of one page (limit + 1 rows: the extra one says "more")."""
    order = listing.order
    where = list(listing.where)
    params = {**listing.params, "page_limit": limit + 1}
    if cursor is not None:
        key, after_id = decode(cursor, listing)
        op = "<" if order.descending else ">"
        where.append(
            f"({order.key}, {order.id}) {op} (CAST(:page_key AS {order.key_type}), :page_after)"
        )
        params.update(page_key=key, page_after=after_id)
    direction = "DESC" if order.descending else "ASC"
    sql = (
        f"SELECT {listing.columns}, ({order.key})::text AS page_key, {order.id} AS page_id"  # noqa: S608
        f" FROM {listing.source}"
        f"{' WHERE ' + ' AND '.join(where) if where else ''}"
        f" ORDER BY {order.key} {direction}, {order.id} {direction} LIMIT :page_limit"
    )
    return sql, params


def fetch_page(
    listing: Listing, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of rows (as dicts of the listing's columns) and the next page's cursor."""
    sql, params = page_query(listing, limit, cursor)
    with db.read() as conn:
        rows = conn.execute(sa.text(sql), params).mappings().all()
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode(Position(last["page_key"], last["page_id"]), listing)
    page = [
        {name: value for name, value in row.items() if name not in ("page_key", "page_id")}
        for row in rows[:limit]
    ]
    return page, next_cursor
