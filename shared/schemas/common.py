"""Field types and base models shared by every resource's shapes.

Each text rule is one pattern that both validates and is published in OpenAPI, so a
schema-driven client knows exactly what is accepted: lengths count the text as sent,
it must hold a visible character, and it may not hold control characters (single-line
fields: not even line breaks). Surrounding whitespace is then removed before the value is
stored. (A lone surrogate is not text at all: the JSON parser refuses it.)
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

_SINGLE_LINE_BAD = "\\x00-\\x1f\\x7f"  # controls, line breaks included
_MULTI_LINE_BAD = "\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f"  # tab, LF and CR allowed
SINGLE_LINE = f"^[^{_SINGLE_LINE_BAD}]*[^\\s{_SINGLE_LINE_BAD}][^{_SINGLE_LINE_BAD}]*$"
MULTI_LINE = f"^[^{_MULTI_LINE_BAD}]*[^\\s{_SINGLE_LINE_BAD}][^{_MULTI_LINE_BAD}]*$"
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


def unset() -> Any:
    """The default of a field a partial update may leave out but never sets to null: absent
    means "keep it", and the document shows no null default that the type would refuse."""
    return Field(default=None, json_schema_extra=_drop_default)


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
