"""Stream an uploaded object as numbered raw records, never holding it whole in memory.

Layers, bottom up: the GCS object read in chunks -> optional gunzip -> a byte cap (the
decompression-bomb guard) -> buffered binary lines (JSONL) or RFC 4180 records (CSV,
csv_records.py).
Line-level problems (too long, invalid UTF-8, broken CSV quoting) become records with a
`problem` so the line is rejected; object-level problems raise PoisonObject. A read to the
end proves it read exactly its generation (verify.py), or raises ReadMismatch.
"""

from __future__ import annotations

import codecs
import gzip
import io
import zlib
from collections.abc import Iterator
from typing import IO, Any

from shared import storage, tracing
from shared.uploads import byteranges, verify
from shared.uploads.csv_records import csv_records
from shared.uploads.event import UploadObject
from shared.uploads.records import (
    BUFFER,
    Limits,
    PoisonObject,
    RawRecord,
    clip,
    count_line,
    too_long,
)

READ_CHUNK = 1 << 20  # bytes per ranged GET from storage
SHARD_READ_CHUNK = 8 << 20  # a fan-out shard reads its range in fewer, larger GETs
SNIFF_BYTES = 64 * 1024  # an object must be valid UTF-8 here, or it is not UTF-8 at all
GZIP_MAGIC = b"\x1f\x8b"


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


def open_bytes(obj: UploadObject, limits: Limits, *, whole: bool = False) -> io.BufferedReader:
    """The object's (decompressed) bytes as a buffered stream; a `whole` read (to the end)
    proves at the end that it read exactly that generation (verify.py)."""
    blob = storage.get_client().bucket(obj.bucket).blob(obj.name, generation=obj.generation)
    want = verify.expected(blob, obj.generation) if whole else None
    source: IO[bytes] = _traced(blob).open("rb", chunk_size=READ_CHUNK)
    if want is not None:
        source = io.BufferedReader(verify.Verified(source, want), READ_CHUNK)
    if obj.gzipped:
        source = gzip.GzipFile(fileobj=source, mode="rb")  # type: ignore[assignment]
    return io.BufferedReader(_Capped(source, limits.max_bytes), BUFFER)


def _traced(blob: Any) -> Any:
    """`blob`, each of whose ranged GETs (the reader's chunks) is a span when tracing is on."""
    if tracing.enabled():
        fetch = blob.download_as_bytes

        def download(*args: Any, **kwargs: Any) -> bytes:
            with tracing.span("storage.read", object=blob.name, start=kwargs.get("start")):
                return bytes(fetch(*args, **kwargs))

        blob.download_as_bytes = download
    return blob


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
    with open_bytes(obj, limits, whole=True) as stream:
        yield from _jsonl(stream, limits) if kind == "jsonl" else csv_records(stream, limits)


def line_range(
    obj: UploadObject, limits: Limits, start: int, end: int, first_line: int
) -> Iterator[RawRecord]:
    """The records of the JSONL lines that start in [start, end): one fan-out shard.

    `start` is a line start and `first_line` its physical line number (byteranges.py), so
    records carry the same line numbers, and meet the same line cap, as when the whole
    object is read. The store must answer for that generation (else ReadMismatch); a range
    has no checksum to check.
    """
    if obj.format != "jsonl" or obj.gzipped:
        raise ValueError(f"{obj.uri}: only uncompressed JSONL can be read by byte range")
    blob = storage.get_client().bucket(obj.bucket).blob(obj.name, generation=obj.generation)
    verify.expected(blob, obj.generation)
    with blob.open("rb", chunk_size=SHARD_READ_CHUNK) as source:
        source.seek(start)
        stream = io.BufferedReader(byteranges.LineRange(source, start, end), BUFFER)
        yield from _jsonl(stream, limits, first_line)


def _skip_line(stream: IO[bytes]) -> None:
    while True:
        chunk = stream.readline(BUFFER)
        if not chunk or chunk.endswith(b"\n"):
            return


def _jsonl(stream: IO[bytes], limits: Limits, first_line: int = 1) -> Iterator[RawRecord]:
    limit = limits.max_line_bytes
    number = first_line - 1
    while chunk := stream.readline(limit + 1):
        number += 1
        count_line(number, limits)
        if number == 1 and chunk.startswith(codecs.BOM_UTF8):
            chunk = chunk[len(codecs.BOM_UTF8) :]
        if len(chunk) > limit and not chunk.endswith(b"\n"):
            _skip_line(stream)
            yield RawRecord(number, None, clip(chunk.decode("utf-8", "replace")), too_long(limit))
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
