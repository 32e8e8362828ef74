"""Byte-range shards aligned to line starts, read through the real storage client."""

from __future__ import annotations

import io
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.uploads import byteranges
from tests.support.uploads import put

LINE = st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"x"))


def shard_bytes(blob: Any, index: int, count: int) -> tuple[int, bytes]:
    """(line number of the shard's first line, the bytes of the lines it owns)."""
    raw = byteranges.bounds(blob.size, index, count)
    start = byteranges.first_line_start(blob, raw.start)
    first_line = byteranges.newlines_before(blob, start) + 1
    with blob.open("rb", chunk_size=256 * 1024) as stream:
        stream.seek(start)
        data = io.BufferedReader(byteranges.LineRange(stream, start, raw.end), 7).read()
    return first_line, data


def physical_lines(data: bytes) -> list[tuple[int, int, bytes]]:
    """(start offset, line number, bytes with its newline) of every line of `data`."""
    found, offset = [], 0
    pieces = [piece + b"\n" for piece in data.split(b"\n")]
    pieces[-1] = pieces[-1][:-1]  # the last piece has no newline (empty if data ended in one)
    for number, line in enumerate(filter(None, pieces), start=1):
        found.append((offset, number, line))
        offset += len(line)
    return found


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    lines=st.lists(LINE, max_size=30),
    trailing_newline=st.booleans(),
    count=st.integers(1, 6),
)
def test_shards_own_every_line_that_starts_in_their_range(
    gcs: Any, lines: list[bytes], trailing_newline: bool, count: int
) -> None:
    data = b"\n".join(lines) + (b"\n" if trailing_newline and lines else b"")
    blob = put(gcs, "ranges/any.jsonl", data)
    every = physical_lines(data)
    for index in range(count):
        raw = byteranges.bounds(len(data), index, count)
        owned = [(n, line) for start, n, line in every if raw.start <= start < raw.end]
        first_line, part = shard_bytes(blob, index, count)
        assert part == b"".join(line for _, line in owned)
        if owned:
            assert first_line == owned[0][0]


def test_a_line_starting_exactly_on_a_boundary_belongs_to_the_later_shard(gcs: Any) -> None:
    data = b"aaaa\nbbbb\ncccc\ndddd\n"  # 20 bytes: shard 1 of 2 starts at byte 10 = "cccc"
    blob = put(gcs, "ranges/exact.jsonl", data)
    assert shard_bytes(blob, 0, 2) == (1, b"aaaa\nbbbb\n")
    assert shard_bytes(blob, 1, 2) == (3, b"cccc\ndddd\n")


def test_a_line_longer_than_a_shard_leaves_the_next_shards_empty(gcs: Any) -> None:
    data = b"x" * 100 + b"\nend\n"
    blob = put(gcs, "ranges/long.jsonl", data)
    parts = [shard_bytes(blob, i, 4) for i in range(4)]
    assert parts[0] == (1, b"x" * 100 + b"\n")
    assert [p for _, p in parts[1:]] == [b"", b"", b"end\n"]
    assert parts[3][0] == 2
