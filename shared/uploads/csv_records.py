"""CSV uploads: RFC 4180 records over physical lines, each numbered by the line it starts on.

A header names the columns (REQUIRED, and any of OPTIONAL, each once) or the object is
poison; a record with broken quoting, invalid UTF-8, too many bytes or the wrong number of
fields becomes a RawRecord with a `problem`, so that line alone is rejected.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import IO

from shared.uploads.records import (
    BUFFER,
    OPTIONAL,
    RAW_PREVIEW,
    REQUIRED,
    Limits,
    PoisonObject,
    RawRecord,
    clip,
    count_line,
    too_long,
)

_ESCAPED = re.compile("[\udc80-\udcff]")  # bytes that were not UTF-8 (surrogateescape)


class _PhysicalLines:
    """Feeds csv.reader one physical line at a time, remembering where each record began.

    Lines are read with a length limit, so a huge line costs at most `limit` characters of
    memory; the remainder is skipped and the record is flagged too long.
    """

    def __init__(self, text: IO[str], limits: Limits) -> None:
        self._text = text
        self._limits = limits
        self._limit = limits.max_line_bytes
        self.line = 0
        self.start = 1
        self.raw = ""
        self.size = 0
        self.too_long = False

    def __iter__(self) -> _PhysicalLines:
        return self

    def __next__(self) -> str:
        piece = self._text.readline(self._limit + 1)
        if not piece:
            raise StopIteration
        self.line += 1
        count_line(self.line, self._limits)
        size = len(piece.encode("utf-8", "surrogateescape"))
        if len(piece) > self._limit and not piece.endswith(("\n", "\r")):
            piece, skipped = self._cut(piece)
            size += skipped
            self.too_long = True
        self.size += size
        self.too_long = self.too_long or self.size > self._limit + 2  # + CRLF
        if len(self.raw) < RAW_PREVIEW:
            self.raw += piece
        return piece

    def _cut(self, piece: str) -> tuple[str, int]:
        """Skip the rest of an overlong line, keeping csv's quoting state as it would be.

        The skipped middle is replaced by one quote when it held an odd number of them
        (quote parity is what decides whether the next line continues a quoted field).
        """
        quotes = skipped = 0
        ending = ""
        while rest := self._text.readline(BUFFER):
            quotes += rest.count('"')
            skipped += len(rest.encode("utf-8", "surrogateescape"))
            if rest.endswith(("\n", "\r")):
                ending = rest[len(rest.rstrip("\r\n")) :]
                break
        return piece + ('"' if quotes % 2 else "") + ending, skipped

    def next_record(self) -> None:
        self.start = self.line + 1
        self.raw = ""
        self.size = 0
        self.too_long = False


def _header(row: list[str]) -> list[str]:
    names = [name.strip() for name in row]
    missing = [name for name in REQUIRED if name not in names]
    unknown = [name for name in names if name not in REQUIRED + OPTIONAL]
    if missing or unknown or len(set(names)) != len(names):
        raise PoisonObject(
            f"CSV header must name {', '.join(REQUIRED)} and optionally "
            f"{', '.join(OPTIONAL)}, each once; got {', '.join(names) or 'nothing'}"
        )
    return names


def csv_records(stream: IO[bytes], limits: Limits) -> Iterator[RawRecord]:
    """Every non-blank record after the header."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
    lines = _PhysicalLines(text, limits)
    reader = csv.reader(lines, strict=True)
    header: list[str] | None = None
    while True:
        lines.next_record()
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield RawRecord(lines.start, None, clip(lines.raw), f"invalid CSV: {error}")
            continue
        record = _csv_record(lines, row, header, limits.max_line_bytes)
        if header is None and row and record is None:
            header = _header(row)
        elif record is not None:
            yield record


def _csv_record(
    lines: _PhysicalLines, row: list[str], header: list[str] | None, limit: int
) -> RawRecord | None:
    """The record for `row`, or None for a blank line or the header (header is None)."""
    raw = clip(lines.raw.rstrip("\r\n"))
    if lines.too_long:
        return RawRecord(lines.start, None, raw, too_long(limit))
    if not row or (len(row) == 1 and not row[0].strip()) or header is None:
        return None
    if any(_ESCAPED.search(value) for value in row):
        return RawRecord(lines.start, None, raw, "invalid UTF-8")
    if len(row) != len(header):
        return RawRecord(lines.start, None, raw, f"expected {len(header)} fields, got {len(row)}")
    return RawRecord(lines.start, dict(zip(header, row, strict=True)), raw)
