"""Stream an uploaded object as numbered raw records, never holding it whole in memory.

Layers, bottom up: the GCS object read in chunks -> optional gunzip -> a byte cap (the
decompression-bomb guard) -> buffered binary lines (JSONL) or RFC 4180 records (CSV).
Line-level problems (too long, invalid UTF-8, broken CSV quoting) become records with a
`problem` so the line is rejected; object-level problems raise PoisonObject.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from shared import storage
from shared.uploads import byteranges
from shared.uploads.event import UploadObject

READ_CHUNK = 1 << 20  # bytes per ranged GET from storage
SHARD_READ_CHUNK = 8 << 20  # a fan-out shard reads its range in fewer, larger GETs
BUFFER = 256 * 1024
SNIFF_BYTES = 64 * 1024  # an object must be valid UTF-8 here, or it is not UTF-8 at all
GZIP_MAGIC = b"\x1f\x8b"
RAW_PREVIEW = 1024  # characters of a rejected line kept for the rejects object
REQUIRED = ("movie_id", "author", "content")
OPTIONAL = ("external_id", "created_at")
_ESCAPED = re.compile("[\udc80-\udcff]")  # bytes that were not UTF-8 (surrogateescape)


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


class _Capped(io.RawIOBase):
    """Counts decompressed bytes and turns gzip damage into PoisonObject."""

    def __init__(self, inner: IO[bytes], limit: int) -> None:
        self._inner = inner
        self._limit = limit
        self._total = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._inner.read(len(buffer))
        except (gzip.BadGzipFile, EOFError, zlib.error) as error:
            raise PoisonObject(f"not a valid gzip stream: {error}") from error
        self._total += len(data)
        if self._total > self._limit:
            raise PoisonObject(f"more than {self._limit} bytes once decompressed")
        buffer[: len(data)] = data
        return len(data)


def open_bytes(obj: UploadObject, limits: Limits) -> io.BufferedReader:
    """The object's (decompressed) bytes as a buffered stream."""
    blob = storage.get_client().bucket(obj.bucket).blob(obj.name, generation=obj.generation)
    source: IO[bytes] = blob.open("rb", chunk_size=READ_CHUNK)
    if obj.gzipped:
        source = gzip.GzipFile(fileobj=source, mode="rb")  # type: ignore[assignment]
    return io.BufferedReader(_Capped(source, limits.max_bytes), BUFFER)


def sniff(obj: UploadObject, limits: Limits) -> None:
    """Refuse, up front, objects that are not gzip when named so, or not UTF-8 at all.

    An object is "not UTF-8" when most non-ASCII lines of its first 64 KiB fail to decode
    (say, a CP949 export); a few corrupted lines in a UTF-8 file are rejected one by one
    instead. Deciding on a fixed prefix gives the same verdict on every redelivery, before
    any line is committed.
    """
    if obj.gzipped:
        _require_gzip_magic(obj)
    with open_bytes(obj, limits) as stream:
        head = stream.read(SNIFF_BYTES)
    lines = head.split(b"\n")
    if len(head) == SNIFF_BYTES:
        lines.pop()  # may end mid-character
    non_ascii = [line for line in lines if not line.isascii()]
    bad = sum(1 for line in non_ascii if not _is_utf8(line))
    if bad * 2 > len(non_ascii):
        raise PoisonObject(f"not UTF-8 text ({bad} of the first {len(lines)} lines)")


def _require_gzip_magic(obj: UploadObject) -> None:
    """A .gz must be a gzip stream; gunzip reads an empty object as empty, not as an error."""
    blob = storage.get_client().bucket(obj.bucket).blob(obj.name, generation=obj.generation)
    with blob.open("rb", chunk_size=READ_CHUNK) as raw:
        magic = raw.read(len(GZIP_MAGIC))
    if magic != GZIP_MAGIC:
        raise PoisonObject("not a valid gzip stream: a .gz object must start with 1f 8b")


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def records(obj: UploadObject, limits: Limits) -> Iterator[RawRecord]:
    """Every non-blank record of the object, numbered by the physical line it starts on."""
    kind = obj.format
    if kind is None:
        raise PoisonObject("unsupported file type: expected .jsonl, .csv (optionally .gz)")
    with open_bytes(obj, limits) as stream:
        yield from _jsonl(stream, limits) if kind == "jsonl" else _csv(stream, limits)


def _count_line(number: int, limits: Limits) -> None:
    """Every physical line counts toward the cap, blank ones too: a file of newlines that
    gzip shrinks a thousandfold fails here in seconds, not at the byte cap minutes later."""
    if number > limits.max_lines:
        raise PoisonObject(f"more than {limits.max_lines} lines")


def line_range(
    obj: UploadObject, limits: Limits, start: int, end: int, first_line: int
) -> Iterator[RawRecord]:
    """The records of the JSONL lines that start in [start, end): one fan-out shard.

    `start` is a line start and `first_line` its physical line number (byteranges.py), so
    records carry the same line numbers, and meet the same line cap, as when the whole
    object is read.
    """
    if obj.format != "jsonl" or obj.gzipped:
        raise ValueError(f"{obj.uri}: only uncompressed JSONL can be read by byte range")
    blob = storage.get_client().bucket(obj.bucket).blob(obj.name, generation=obj.generation)
    with blob.open("rb", chunk_size=SHARD_READ_CHUNK) as source:
        source.seek(start)
        stream = io.BufferedReader(byteranges.LineRange(source, start, end), BUFFER)
        yield from _jsonl(stream, limits, first_line)


def _skip_line(stream: IO[bytes]) -> None:
    while True:
        chunk = stream.readline(BUFFER)
        if not chunk or chunk.endswith(b"\n"):
            return


def _too_long(limit: int) -> str:
    return f"line too long (more than {limit} bytes)"


def _jsonl(stream: IO[bytes], limits: Limits, first_line: int = 1) -> Iterator[RawRecord]:
    limit = limits.max_line_bytes
    number = first_line - 1
    while chunk := stream.readline(limit + 1):
        number += 1
        _count_line(number, limits)
        if number == 1 and chunk.startswith(codecs.BOM_UTF8):
            chunk = chunk[len(codecs.BOM_UTF8) :]
        if len(chunk) > limit and not chunk.endswith(b"\n"):
            _skip_line(stream)
            yield RawRecord(number, None, clip(chunk.decode("utf-8", "replace")), _too_long(limit))
            continue
        body = chunk.rstrip(b"\r\n")
        if not body.strip():
            continue
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            yield RawRecord(number, None, clip(body.decode("utf-8", "replace")), "invalid UTF-8")
            continue
        yield RawRecord(number, text, text)


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
        _count_line(self.line, self._limits)
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


def _csv(stream: IO[bytes], limits: Limits) -> Iterator[RawRecord]:
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
        return RawRecord(lines.start, None, raw, _too_long(limit))
    if not row or (len(row) == 1 and not row[0].strip()) or header is None:
        return None
    if any(_ESCAPED.search(value) for value in row):
        return RawRecord(lines.start, None, raw, "invalid UTF-8")
    if len(row) != len(header):
        return RawRecord(lines.start, None, raw, f"expected {len(header)} fields, got {len(row)}")
    return RawRecord(lines.start, dict(zip(header, row, strict=True)), raw)
