"""What the upload reader yields, and the rules every format shares: numbered raw records,
the limits they are read under, and the object-level failure (PoisonObject)."""

from __future__ import annotations

from dataclasses import dataclass

BUFFER = 256 * 1024
RAW_PREVIEW = 1024  # characters of a rejected line kept for the rejects object
REQUIRED = ("movie_id", "author", "content")
OPTIONAL = ("external_id", "created_at")


class PoisonObject(Exception):
    """The object can never be processed; acknowledge it with a failed report."""


@dataclass(frozen=True)
class RawRecord:
    """One record: JSON text (JSONL) or header->value map (CSV), or a line-level problem."""

    line: int
    payload: str | dict[str, str] | None
    raw: str
    problem: str | None = None


@dataclass(frozen=True)
class Limits:
    max_bytes: int  # decompressed bytes
    max_lines: int
    max_line_bytes: int


def clip(text: str, limit: int = RAW_PREVIEW) -> str:
    """A printable, storable preview: no NUL, no lone surrogates, at most `limit` chars."""
    text = text[:limit].encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return text.replace("\x00", "\ufffd")


def count_line(number: int, limits: Limits) -> None:
    """Every physical line counts toward the cap, blank ones too: a file of newlines that
    gzip shrinks a thousandfold fails here in seconds, not at the byte cap minutes later."""
    if number > limits.max_lines:
        raise PoisonObject(f"more than {limits.max_lines} lines")


def too_long(limit: int) -> str:
    return f"line too long (more than {limit} bytes)"
