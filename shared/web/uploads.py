"""Console uploads: put a review file into the uploads bucket, then read its report back.

A file goes to `console/<token>/<name>`; the token is 64 random bits and a 64-bit MAC of them
and the name under the console's secret key, so a follow-up URL is an unguessable
capability, and a token the console did not issue is a 404 without asking the bucket (whose
uploaded objects the console may not read). The upload handler writes `reports/<object>.json` and
`rejects/<object>.jsonl` when it is done (shared.uploads.names owns those names). The
console's identity may create objects and read only those two prefixes of its own uploads.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import flask

from shared import storage
from shared.settings import get_settings
from shared.uploads import names
from shared.uploads.names import SUFFIXES

PREFIX = "console"
TOKEN = re.compile(r"^[0-9a-f]{32}$")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
CONTENT_TYPES = {".jsonl": "application/x-ndjson", ".csv": "text/csv", ".gz": "application/gzip"}


class UploadRejected(ValueError):
    """The file cannot be accepted (type, name, emptiness); the message is for the user."""


class UploadTooLarge(UploadRejected):
    """Over WEB_UPLOAD_MAX_BYTES (bodies far over it are refused before they are read)."""


@dataclass(frozen=True, slots=True)
class UploadRef:
    token: str
    name: str

    @property
    def object_name(self) -> str:
        return f"{PREFIX}/{self.token}/{self.name}"

    @property
    def report_name(self) -> str:
        return names.report_name(self.object_name)

    @property
    def rejects_name(self) -> str:
        return names.rejects_name(self.object_name)

    @classmethod
    def new(cls, name: str) -> UploadRef:
        nonce = secrets.token_hex(8)
        return cls(nonce + _mac(nonce, name), name)

    @classmethod
    def parse(cls, token: str, name: str) -> UploadRef | None:
        """The upload this console issued `token` for, else None (a 404)."""
        if not (TOKEN.match(token) and NAME.match(name) and name.lower().endswith(SUFFIXES)):
            return None
        nonce, mac = token[:16], token[16:]
        return cls(token, name) if hmac.compare_digest(mac, _mac(nonce, name)) else None


def _mac(nonce: str, name: str) -> str:
    key = flask.current_app.config["SECRET_KEY"]
    key = key.encode() if isinstance(key, str) else key
    message = f"console-upload\n{nonce}\n{name}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:16]


def safe_name(filename: str) -> str:
    """A bucket-safe version of the user's file name that keeps its type suffix."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    lowered = base.lower()
    suffix = next((s for s in sorted(SUFFIXES, key=len, reverse=True) if lowered.endswith(s)), "")
    if not suffix:
        raise UploadRejected(".jsonl, .csv 파일(또는 .gz로 압축한 파일)만 올릴 수 있습니다.")
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", base[: -len(suffix)]).strip("._-")[:80]
    return f"{stem or 'reviews'}{suffix}"


def store(stream: IO[bytes], filename: str) -> UploadRef:
    """Put the upload (already size-capped by the request limit) into the bucket."""
    ref = UploadRef.new(safe_name(filename))
    size = stream.seek(0, io.SEEK_END)
    if not size:
        raise UploadRejected("빈 파일입니다.")
    if size > get_settings().web_upload_max_bytes:
        raise UploadTooLarge(size)
    stream.seek(0)
    kind = ".gz" if ref.name.endswith(".gz") else "." + ref.name.rsplit(".", 1)[-1]
    blob = storage.get_client().bucket(get_settings().uploads_bucket).blob(ref.object_name)
    # generation 0: create only, never overwrite (the console may not delete or replace)
    blob.upload_from_file(
        stream, size=size, content_type=CONTENT_TYPES[kind], if_generation_match=0
    )
    return ref


def report(ref: UploadRef) -> dict[str, Any] | None:
    """The handler's report, or None while the file is still being processed."""
    from google.api_core.exceptions import NotFound

    blob = storage.get_client().bucket(get_settings().uploads_bucket).blob(ref.report_name)
    try:
        data = blob.download_as_bytes()
    except NotFound:
        return None
    parsed = json.loads(data)
    return parsed if isinstance(parsed, dict) else None


def rejects(ref: UploadRef) -> Iterator[bytes] | None:
    """The rejected lines (JSONL) as a stream of chunks, or None if there are none."""
    from google.api_core.exceptions import NotFound

    blob = storage.get_client().bucket(get_settings().uploads_bucket).blob(ref.rejects_name)
    reader = blob.open("rb", chunk_size=256 * 1024)
    try:
        first = reader.read(64 * 1024)
    except NotFound:
        reader.close()
        return None

    def chunks() -> Iterator[bytes]:
        with reader:
            chunk = first
            while chunk:
                yield chunk
                chunk = reader.read(64 * 1024)

    return chunks()
