"""A whole-object read proves it read its generation: size, crc32c, MD5, generation."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from shared import storage
from shared.uploads import verify
from shared.uploads.verify import ReadMismatch
from tests.support.uploads import put, unpinned_storage

DATA = "한 줄\n".encode() * 1000


def read_all(blob: Any, want: verify.Expected) -> bytes:
    with blob.open("rb", chunk_size=4096) as raw:
        return verify.Verified(raw, want).read()


def test_the_whole_generation_reads_clean_though_another_is_live(gcs: Any) -> None:
    first = put(gcs, "v.jsonl", DATA)
    put(gcs, "v.jsonl", DATA[:100])  # generation 2 is live, 1 is noncurrent
    blob = storage.get_client().bucket("uploads").blob("v.jsonl", generation=first.generation)
    want = verify.expected(blob, first.generation)
    assert (want.size, want.crc32c, want.md5) == (len(DATA), first.crc32c, first.md5_hash)
    assert read_all(blob, want) == DATA


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"size": len(DATA) + 1}, f"read {len(DATA)} bytes of {len(DATA) + 1}"),
        ({"size": len(DATA) - 1}, f"read {len(DATA)} bytes of {len(DATA) - 1}"),
        ({"crc32c": "AAAAAA=="}, "crc32c"),
        ({"md5": "AAAAAAAAAAAAAAAAAAAAAA=="}, "MD5"),
    ],
)
def test_bytes_that_are_not_the_generation_are_a_mismatch(
    gcs: Any, change: dict[str, Any], says: str
) -> None:
    blob = put(gcs, "m.jsonl", DATA)
    want = dataclasses.replace(verify.expected(blob, blob.generation), **change)
    with pytest.raises(ReadMismatch, match=says):
        read_all(blob, want)


def test_another_generation_answered_is_a_mismatch_and_a_gone_one_not_found(gcs: Any) -> None:
    from google.api_core.exceptions import NotFound

    blob = put(gcs, "g.jsonl", DATA)
    with pytest.raises(ReadMismatch, match="answered generation"):
        verify.expected(blob, blob.generation + 1)
    pinned = gcs.bucket("uploads").blob("g.jsonl", generation=blob.generation)
    pinned.delete()  # that generation, for good
    with pytest.raises(NotFound):
        verify.expected(pinned, blob.generation)


def test_a_store_that_answers_another_generation_fails_every_read(
    gcs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.uploads import reader
    from shared.uploads.event import UploadObject
    from shared.uploads.records import Limits

    limits = Limits(max_bytes=10_000_000, max_lines=10_000, max_line_bytes=1000)
    with unpinned_storage(monkeypatch) as store:
        first = put(store, "s.jsonl", DATA)
        put(store, "s.jsonl", DATA[:100])  # this store keeps only the live generation
        obj = UploadObject("uploads", "s.jsonl", first.generation, first.size)
        with pytest.raises(ReadMismatch, match="answered generation"):
            list(reader.records(obj, limits))
        with pytest.raises(ReadMismatch, match="answered generation"):
            list(reader.line_range(obj, limits, 0, len(DATA) // 2, 1))
