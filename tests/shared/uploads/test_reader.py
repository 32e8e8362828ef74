"""Reading and parsing upload objects, line by line, on the GCS emulator."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from shared.schemas.common import TIMESTAMP_RANGE
from shared.uploads import lines
from shared.uploads.event import UploadObject
from shared.uploads.reader import records, sniff
from shared.uploads.records import Limits, PoisonObject, RawRecord, clip
from tests.support.uploads import gz, put

LIMITS = Limits(max_bytes=10_000_000, max_lines=1000, max_line_bytes=300)


def read(gcs: Any, name: str, data: bytes, limits: Limits = LIMITS) -> list[RawRecord]:
    blob = put(gcs, name, data)
    obj = UploadObject(blob.bucket.name, blob.name, blob.generation, blob.size)
    sniff(obj, limits)
    return list(records(obj, limits))


def test_jsonl_numbers_physical_lines_and_skips_blank_ones(gcs: Any) -> None:
    data = b'\xef\xbb\xbf{"a": 1}\r\n\r\n   \n{"b": "\xea\xb0\x80"}\n{"c": 3}'
    got = read(gcs, "x.jsonl", data)
    assert [(r.line, r.payload) for r in got] == [
        (1, '{"a": 1}'),
        (4, '{"b": "가"}'),
        (5, '{"c": 3}'),
    ]


def test_jsonl_isolates_invalid_utf8_and_overlong_lines(gcs: Any) -> None:
    good = '{"content": "좋다"}\n'.encode()
    data = good * 5 + b'{"x": "\xff"}\n' + b"[" + b" " * 1000 + b"]\n" + good
    got = read(gcs, "x.jsonl.gz", gz(data))
    assert [(r.line, r.problem) for r in got if r.problem] == [
        (6, "invalid UTF-8"),
        (7, "line too long (more than 300 bytes)"),
    ]
    assert got[-1].line == 8 and got[-1].payload == good.decode().strip()


def test_csv_records_start_on_their_first_physical_line(gcs: Any) -> None:
    data = (
        '\ufeffmovie_id,author,content\r\n1,a,"x\r\ny"\r\n\r\n2,b,"say ""hi"", ok"\r\n'
        '3,c,"bad"quote\r\n4,d\r\n'
    ).encode()
    got = read(gcs, "x.csv", data)
    assert [(r.line, r.payload, r.problem) for r in got] == [
        (2, {"movie_id": "1", "author": "a", "content": "x\r\ny"}, None),
        (5, {"movie_id": "2", "author": "b", "content": 'say "hi", ok'}, None),
        (6, None, "invalid CSV: ',' expected after '\"'"),
        (7, None, "expected 3 fields, got 2"),
    ]


def test_csv_overlong_quoted_line_keeps_the_following_records(gcs: Any) -> None:
    data = (f'movie_id,author,content\n1,a,"start\n{"x" * 1000}"\n2,b,fine\n').encode()
    got = read(gcs, "x.csv", data)
    assert [(r.line, r.problem) for r in got] == [
        (2, "line too long (more than 300 bytes)"),
        (4, None),
    ]


@pytest.mark.parametrize(
    ("name", "data", "error"),
    [
        ("x.csv", b"movie_id,text\n1,a\n", "CSV header"),
        ("x.jsonl", "가나다\n라마바\n".encode("cp949"), "not UTF-8"),
        ("x.jsonl.gz", b"plain text", "gzip"),
        ("x.jsonl", b"{}\n" * 1001, "more than 1000 lines"),
        ("x.txt", b"{}\n", "unsupported file type"),
    ],
)
def test_poison_objects(gcs: Any, name: str, data: bytes, error: str) -> None:
    with pytest.raises(PoisonObject, match=error):
        read(gcs, name, data)


def test_decompressed_bytes_are_capped(gcs: Any) -> None:
    limits = Limits(max_bytes=100_000, max_lines=10**6, max_line_bytes=300)
    with pytest.raises(PoisonObject, match="decompressed"):
        read(gcs, "bomb.jsonl.gz", gz(b"\n" * 10_000_000), limits)


def test_parse_explains_each_rejection() -> None:
    def reason(payload: str | dict[str, str]) -> Any:
        result = lines.parse(RawRecord(1, payload, str(payload)))
        return result.reason if isinstance(result, lines.Rejected) else result

    assert reason("{").startswith("invalid JSON")
    assert reason("3") == "invalid JSON: a line must be an object"
    assert reason('{"movie_id": 1, "content": "x"}') == "missing field author"
    assert "unknown field stars" in reason(
        '{"movie_id": 1, "author": "a", "content": "x", "stars": 1}'
    )
    assert reason({"movie_id": "x", "author": "a", "content": "b"}).startswith("movie_id:")
    ok = reason(
        {"movie_id": "7", "author": " a ", "content": "b", "external_id": "", "created_at": ""}
    )
    assert ok.item.movie_id == 7 and ok.item.author == "a" and ok.item.external_id is None


def test_clip_makes_raw_text_storable() -> None:
    assert clip("a\x00b" + "\udcff" + "c" * 2000) == "a\ufffdb\ufffd" + "c" * 1020


def test_parse_refuses_what_the_database_cannot_store_or_give_back() -> None:
    def reason(line: str) -> Any:
        result = lines.parse(RawRecord(1, line, line))
        return result.reason if isinstance(result, lines.Rejected) else result.item

    base = '{"movie_id": 1, "author": "a", "content": "b"'
    one_bc = reason(base + ', "created_at": "0001-01-01T00:00:00+14:00"}')
    assert one_bc == "created_at: Value error, must lie within " + TIMESTAMP_RANGE + " once in UTC"
    assert "once in UTC" in reason(base + ', "created_at": "9999-12-31T23:00:00-14:00"}')
    earliest = reason(base + ', "created_at": "0001-01-01T14:00:00+14:00"}')
    assert earliest.created_at == datetime(1, 1, 1, tzinfo=UTC)
    naive = reason(base + ', "created_at": "2024-06-01T12:00:00"}')
    assert naive.created_at == datetime(2024, 6, 1, 12, tzinfo=UTC)
    assert reason('{"movie_id": 1, "author": "a\\ud800", "content": "b"}') == (
        "author: must be Unicode text (it holds a lone surrogate)"
    )
    assert reason('{"movie_id": 1, "author": "a", "content": "b\\u0000"}').startswith("content:")
