"""Field types and base models shared by every resource's shapes."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_OR_NEWLINE = re.compile(r"[\x00-\x1f\x7f]")


def _no_surrogates(value: str) -> str:
    if any(unicodedata.category(ch) == "Cs" for ch in value):
        raise ValueError("text contains lone surrogates")
    return value


def _single_line(value: str) -> str:
    if _CONTROL_OR_NEWLINE.search(value):
        raise ValueError("text must not contain control characters, NUL or line breaks")
    return _no_surrogates(value)


def _multi_line(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("text must not contain NUL or control characters")
    return _no_surrogates(value)


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute http or https URL")
    return value


def bounded(max_length: int, min_length: int = 1) -> StringConstraints:
    """Trimmed length bounds, counted in characters as PostgreSQL's char_length does."""
    return StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)


SingleLine = AfterValidator(_single_line)
MultiLine = AfterValidator(_multi_line)

HttpUrlText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=2048),
    AfterValidator(_single_line),
    AfterValidator(_http_url),
]


class RequestModel(BaseModel):
    """Client input: unknown fields are an error, strings are trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ResponseModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


Limit = Annotated[int, Field(ge=1, le=100, description="page size (1..100)")]
Cursor = Annotated[
    str,
    StringConstraints(min_length=1, max_length=2048),  # room for a 200-character title key
    Field(description="opaque cursor from a previous page's next_cursor"),
]
