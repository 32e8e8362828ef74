"""Proof that a read got the whole generation it was told to read, and nothing else.

An object is read in ranged GETs, and a store (or anything between) that serves another
generation's bytes, or ends early, looks to the reader like a shorter object: issue 23 saw
generation 1 of 40,000 lines end `done` with 5,334. So every whole-object read is pinned to
its generation and checked: the store's metadata must be that generation's, and at the end
the bytes read must add up to its size, crc32c and MD5 (where it has them: a composite
object has no MD5). Anything else raises ReadMismatch, a ServiceUnavailable: nothing
committed is lost, the object is not finished, and the redelivery reads it again (within
the attempt budget, handler.py). An object stored with Content-Encoding: gzip is served
decompressed (GCS's transcoding), so its bytes cannot be checked against what is stored;
only its generation is.
"""

from __future__ import annotations

import base64
import hashlib
import io
from dataclasses import dataclass
from typing import IO, Any

import google_crc32c

from shared.errors import ServiceUnavailable


class ReadMismatch(ServiceUnavailable):
    """What was read is not the generation asked for (short, long or other bytes)."""


@dataclass(frozen=True)
class Expected:
    """A generation as the store describes it."""

    uri: str
    generation: int
    size: int | None  # None: transcoded, so the bytes served are not the bytes stored
    crc32c: str | None  # base64, as the storage JSON API gives them
    md5: str | None


def expected(blob: Any, generation: int) -> Expected:
    """The metadata of `blob` (a storage Blob bound to `generation`), fetched now; NotFound
    once that generation is gone."""
    blob.reload()
    uri = f"gs://{blob.bucket.name}/{blob.name}"
    if blob.generation != generation:
        raise ReadMismatch(
            f"{uri}: the store answered generation {blob.generation} for {generation}"
        )
    if blob.content_encoding == "gzip":
        return Expected(uri, generation, None, None, None)
    return Expected(uri, generation, int(blob.size), blob.crc32c, blob.md5_hash)


class Verified(io.RawIOBase):
    """The bytes of `inner`, checked against `expected` when the stream ends."""

    def __init__(self, inner: IO[bytes], expected: Expected) -> None:
        self._inner = inner
        self._expected = expected
        self._read = 0
        self._crc32c: Any = google_crc32c.Checksum()  # type: ignore[no-untyped-call]
        self._md5 = hashlib.md5(usedforsecurity=False)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._inner.read(len(buffer))
        if not data:
            self._check()
            return 0
        self._read += len(data)
        self._crc32c.update(data)
        self._md5.update(data)
        buffer[: len(data)] = data
        return len(data)

    def _check(self) -> None:
        want = self._expected
        where = f"{want.uri}#{want.generation}"
        if want.size is not None and self._read != want.size:
            raise ReadMismatch(f"{where}: read {self._read} bytes of {want.size}")
        if want.crc32c and _b64(self._crc32c.digest()) != want.crc32c:
            raise ReadMismatch(f"{where}: the bytes read do not match its crc32c")
        if want.md5 and _b64(self._md5.digest()) != want.md5:
            raise ReadMismatch(f"{where}: the bytes read do not match its MD5")


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()
