"""Byte-range shards of an uploaded JSONL object, aligned to line starts.

Shard i of n covers the bytes [size*i//n, size*(i+1)//n) and owns every line that *starts*
in that range: it skips the partial line it begins in and reads past its end to finish its
last line (Hadoop's LineRecordReader rule). Every line therefore has exactly one owner, no
coordinator is needed, and a shard can start anywhere in the object with a ranged read.

To keep rejects and source keys on *physical* line numbers (the same keys as the
single-instance path), a shard also counts the newlines before its first line: a streamed
count over the preceding bytes (C speed, no parsing), stored with the shard so a retry
does not count again.

Only uncompressed JSONL can be split this way: a JSON string cannot hold a raw newline, so
every newline ends a record. CSV records may span lines inside quotes and gzip streams
cannot be entered midway; those stay on one task (shared/uploads/fanout.py).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import IO, Any

SCAN_CHUNK = 64 * 1024  # looking for the next newline
COUNT_CHUNK = 8 << 20  # ranged reads while counting newlines


@dataclass(frozen=True)
class Bounds:
    """A shard's raw byte range [start, end): it owns the lines that begin in it."""

    start: int
    end: int


def bounds(size: int, index: int, count: int) -> Bounds:
    if not 0 <= index < count:
        raise ValueError(f"shard {index} of {count}")
    return Bounds(size * index // count, size * (index + 1) // count)


def first_line_start(blob: Any, position: int) -> int:
    """The first line start at or after `position` (the object's size when there is none)."""
    if position <= 0:
        return 0
    size = int(blob.size)
    cursor = position - 1  # a line starts at `position` iff the byte before it is a newline
    while cursor < size:
        last = min(size, cursor + SCAN_CHUNK) - 1
        chunk: bytes = blob.download_as_bytes(start=cursor, end=last)  # `end` is inclusive
        found = chunk.find(b"\n")
        if found >= 0:
            return cursor + found + 1
        cursor = last + 1
    return size


def newlines_before(blob: Any, position: int) -> int:
    """How many newlines the object holds in [0, position): the line number of `position` - 1."""
    total, cursor = 0, 0
    while cursor < position:
        last = min(position, cursor + COUNT_CHUNK) - 1
        chunk: bytes = blob.download_as_bytes(start=cursor, end=last)
        total += chunk.count(b"\n")
        cursor = last + 1
    return total


class LineRange(io.RawIOBase):
    """The bytes of the lines that start in [start, end), read from a stream already at `start`.

    `start` must be a line start. Reading stops at the first line start at or after `end`;
    bytes past it are never returned, whatever the caller's buffer size.
    """

    def __init__(self, inner: IO[bytes], start: int, end: int) -> None:
        self._inner = inner
        self._position = start
        self._end = end
        self._at_line_start = True
        self._done = start >= end

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._done:
            return 0
        want = len(buffer)
        if self._position < self._end:
            want = min(want, self._end - self._position)  # land exactly on `end` first
        data = self._inner.read(want)
        if not data:
            self._done = True
            return 0
        if self._position >= self._end:  # finishing the last line
            cut = data.find(b"\n")
            if cut >= 0:
                data, self._done = data[: cut + 1], True
        self._position += len(data)
        self._at_line_start = data.endswith(b"\n")
        if self._position >= self._end and self._at_line_start:
            self._done = True
        buffer[: len(data)] = data
        return len(data)
