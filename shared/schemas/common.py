"""Field types and base models shared by every resource's shapes.

Each text rule is one pattern that both validates and is published in OpenAPI, so a
schema-driven client knows exactly what is accepted: lengths count the text as sent,
it must hold a visible character, and it may not hold control characters (single-line
fields: not even line breaks). Surrounding whitespace is then removed before the value is
stored.

What the database stores is accepted, and nothing else (one rule for the API's bodies and
queries, the upload lines and the cursors): text without NUL and without lone surrogates
("\ud800" is not Unicode text: pydantic's str refuses it, in JSON and in Python values
alike, and `storable_text` applies the same rule to text no schema reads), and instants
that are years 1..9999 once in UTC (`StoredTimestamp`: PostgreSQL would store
0001-01-01T00:00:00+14:00, which is 1 BC in UTC, but nothing could read it back).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

SINGLE_LINE_BAD = "\\x00-\\x1f\\x7f"  # controls, line breaks included (a regex class's body)
_MULTI_LINE_BAD = "\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f"  # tab, LF and CR allowed
# a visible character: not whitespace, not a control. `\\s` differs between JSON Schema's
# (ECMAScript) regexes and ours (Python, Rust) in two characters: NEL (U+0085) is space only
# to ours, BOM (U+FEFF) only to ECMAScript; naming both keeps the published rule ours
_INVISIBLE = f"\\s{SINGLE_LINE_BAD}\\x85\\ufeff"
SINGLE_LINE = f"^[^{SINGLE_LINE_BAD}]*[^{_INVISIBLE}][^{SINGLE_LINE_BAD}]*$"
MULTI_LINE = f"^[^{_MULTI_LINE_BAD}]*[^{_INVISIBLE}][^{_MULTI_LINE_BAD}]*$"
# absolute http(s) URL: a host of letters, digits, dots and hyphens, an optional port, then
# anything printable (a host in another script is sent in its punycode form)
HTTP_URL = "^https?://[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?(?:[/?#][!-~]*)?$"


def json_integer(value: object) -> object:
    """JSON's integers as JSON Schema counts them: 5747.0 is the integer 5747 (many clients
    cannot tell the two apart). true, "5747" and 5747.5 stay what they are, and strict
    validation refuses them."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _iso_day(value: object) -> object:
    """A query's day is written YYYY-MM-DD (not a Unix time, which lax parsing would take)."""
    if isinstance(value, str) and not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise ValueError("a day is written YYYY-MM-DD")
    return value


QueryDay = Annotated[date, BeforeValidator(_iso_day)]

TIMESTAMP_RANGE = "0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999Z"


def storable_timestamp(value: datetime) -> datetime:
    """The instant in UTC (no offset: UTC), if it is one PostgreSQL stores and Python reads
    back: within TIMESTAMP_RANGE once the offset is applied."""
    try:
        return value.replace(tzinfo=value.tzinfo or UTC).astimezone(UTC)
    except OverflowError:
        raise ValueError(f"must lie within {TIMESTAMP_RANGE} once in UTC") from None


LONE_SURROGATE = "must be Unicode text (it holds a lone surrogate)"


def storable_text(value: str) -> str:
    """Text PostgreSQL stores: no NUL, and no lone surrogate (it has no UTF-8 encoding)."""
    if "\x00" in value:
        raise ValueError("must not contain NUL")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(LONE_SURROGATE) from None
    return value


StoredTimestamp = Annotated[
    datetime,
    AfterValidator(storable_timestamp),
    Field(description=f"ISO 8601; UTC when no offset is given; {TIMESTAMP_RANGE} in UTC"),
]


def _strip(value: str) -> str:
    return value.strip()


def single_line(max_length: int) -> StringConstraints:
    """A one-line text of 1..max_length characters as sent."""
    return StringConstraints(min_length=1, max_length=max_length, pattern=SINGLE_LINE)


def multi_line(max_length: int) -> StringConstraints:
    """A text of 1..max_length characters as sent; tabs and line breaks allowed."""
    return StringConstraints(min_length=1, max_length=max_length, pattern=MULTI_LINE)


def _drop_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def unset(description: str | None = None) -> Any:
    """The default of a field a request may leave out but never sets to null (in a partial
    update, absent means "keep it"): the document shows no null default that the type would
    refuse."""
    return Field(default=None, description=description, json_schema_extra=_drop_default)


Strip = AfterValidator(_strip)  # after the checks above: what is stored has no outer spaces
HttpUrlText = Annotated[str, StringConstraints(max_length=2048, pattern=HTTP_URL)]


class RequestModel(BaseModel):
    """Client input: unknown fields are an error."""

    model_config = ConfigDict(extra="forbid")


class ResponseModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


Limit = Annotated[int, Field(ge=1, le=100, description="page size (1..100)")]
Cursor = Annotated[
    str,
    StringConstraints(min_length=1, max_length=2048),  # room for a 200-character title key
    Field(description="opaque cursor from a previous page's next_cursor"),
]
