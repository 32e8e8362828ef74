"""The upload CloudEvent handler through functions-framework, on the GCS emulator and PG."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from shared import db
from shared.settings import get_settings
from tests.support import function_client
from tests.support.uploads import (
    assert_exact,
    deliver,
    event_for,
    failed_report,
    fixture,
    gz,
    ledger_row,
    put,
    read_json,
    read_rejects,
    review_count,
    settings_env,
)

BOM = b"\xef\xbb\xbf"
MIXED_LINES, MIXED_REJECTED = 15, 7
MIXED_REJECT_LINES = [5, 6, 7, 13, 14, 15, 16]
CSV_LINES, CSV_REJECTED = 7, 3


def test_jsonl_with_bom_crlf_and_every_kind_of_bad_line(on_upload: FlaskClient, gcs: Any) -> None:
    blob = put(gcs, "batch/mixed.jsonl", fixture("mixed.jsonl"))
    response = deliver(on_upload, event_for(blob))
    assert response.status_code == 200, response.get_data(as_text=True)

    row = assert_exact(blob, MIXED_LINES, MIXED_REJECTED)
    assert row["duplicates"] == 0 and row["checkpoint_line"] == 16
    report = read_json(gcs, "reports/batch/mixed.jsonl.json")
    assert report["status"] == "done"
    assert report["generation"] == str(blob.generation)
    assert (report["lines"], report["inserted"], report["rejected"]) == (15, 8, 7)
    assert report["model_version"] and report["duration_seconds"] >= 0
    assert report["rejects"] == "gs://uploads/rejects/batch/mixed.jsonl.jsonl"

    rejects = read_rejects(gcs, "rejects/batch/mixed.jsonl.jsonl")
    assert [r["line"] for r in rejects] == MIXED_REJECT_LINES
    reasons = " | ".join(r["reason"] for r in rejects)
    for expected in (
        "invalid JSON",
        "missing field author",
        "unknown field stars",
        "movie 999999 does not exist",
        "content",
        "must be an object",
        "in the future",
    ):
        assert expected in reasons
    assert rejects[1]["raw"] == '{"movie_id": 1, "content": "작성자 없음"}'


def test_csv_with_bom_crlf_and_quoted_newlines(on_upload: FlaskClient, gcs: Any) -> None:
    blob = put(gcs, "quoted.csv", fixture("quoted.csv"))
    assert deliver(on_upload, event_for(blob)).status_code == 200

    assert_exact(blob, CSV_LINES, CSV_REJECTED)
    rejects = read_rejects(gcs, "rejects/quoted.csv.jsonl")
    assert [r["line"] for r in rejects] == [8, 9, 10]
    assert "expected 5 fields, got 6" in rejects[0]["reason"]
    assert "author" in rejects[2]["reason"]

    with db.transaction() as conn:
        rows: dict[str, str] = dict(
            conn.execute(
                sa.text("SELECT source_key, content FROM reviews ORDER BY source_key")
            ).all()
        )
    key = f"gs://uploads/quoted.csv#{blob.generation}"
    assert rows[f"{key}:2"] == '쉼표, 그리고 "따옴표"가 있는 리뷰'
    assert rows[f"{key}:3"] == "첫 줄\r\n둘째 줄\r\n셋째 줄"
    assert rows[f"{key}:12"] == '끝까지 "인용"된, 여러\nLF 줄'


@pytest.mark.parametrize("name", ["mixed.jsonl.gz", "quoted.csv.gz"])
def test_gzip_objects_and_structured_events(on_upload: FlaskClient, gcs: Any, name: str) -> None:
    source = name.removesuffix(".gz")
    blob = put(gcs, name, gz(fixture(source)))
    assert deliver(on_upload, event_for(blob), structured=True).status_code == 200
    lines, rejected = (
        (MIXED_LINES, MIXED_REJECTED) if "jsonl" in name else (CSV_LINES, CSV_REJECTED)
    )
    assert_exact(blob, lines, rejected)


def test_duplicate_delivery_inserts_nothing_twice(on_upload: FlaskClient, gcs: Any) -> None:
    blob = put(gcs, "dup.jsonl", fixture("mixed.jsonl"))
    event = event_for(blob)
    assert deliver(on_upload, event).status_code == 200
    assert deliver(on_upload, event).status_code == 200
    assert deliver(on_upload, event_for(blob)).status_code == 200
    row = assert_exact(blob, MIXED_LINES, MIXED_REJECTED)
    assert row["attempts"] == 1  # later deliveries found it done


def test_reupload_counts_external_id_duplicates(on_upload: FlaskClient, gcs: Any) -> None:
    first = put(gcs, "again.jsonl", fixture("mixed.jsonl"))
    assert deliver(on_upload, event_for(first)).status_code == 200
    second = put(gcs, "again.jsonl", fixture("mixed.jsonl"))
    assert second.generation != first.generation
    assert deliver(on_upload, event_for(second)).status_code == 200
    row = assert_exact(second, MIXED_LINES, MIXED_REJECTED)
    assert row["duplicates"] == 2  # the two lines with an external_id
    assert review_count() == 8 + 6
    assert read_json(gcs, "reports/again.jsonl.json")["duplicates"] == 2


def test_ten_concurrent_deliveries_process_once(on_upload: FlaskClient, gcs: Any) -> None:
    blob = put(gcs, "concurrent.jsonl", fixture("mixed.jsonl").removeprefix(BOM) * 20)
    event = event_for(blob)
    statuses: list[int] = []

    # ten instances, built one by one (loading a function's source is not thread-safe)
    clients = [
        function_client("reviews", target="on_upload", signature="cloudevent") for _ in range(10)
    ]

    def one(client: FlaskClient) -> None:
        statuses.append(deliver(client, event).status_code)

    threads = [threading.Thread(target=one, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert statuses == [200] * 10
    # the copies repeat external ids, so those lines are duplicates after the first copy
    row = assert_exact(blob, MIXED_LINES * 20, MIXED_REJECTED * 20)
    assert row["duplicates"] == 2 * 19
    assert row["attempts"] == 1


def test_stale_event_is_dropped(on_upload: FlaskClient, gcs: Any) -> None:
    blob = put(gcs, "old.jsonl", fixture("mixed.jsonl"))
    age = timedelta(seconds=get_settings().upload_event_max_age_seconds + 60)
    assert deliver(on_upload, event_for(blob, age=age)).status_code == 200
    assert ledger_row(blob) is None and review_count() == 0


@pytest.mark.parametrize(
    "name", ["reports/x.jsonl.json", "rejects/x.jsonl.jsonl", "reports/nested/y.jsonl", "incoming/"]
)
def test_our_own_outputs_are_ignored(on_upload: FlaskClient, gcs: Any, name: str) -> None:
    blob = put(gcs, name, fixture("mixed.jsonl"))
    assert deliver(on_upload, event_for(blob)).status_code == 200
    assert ledger_row(blob) is None and review_count() == 0


def test_unsupported_extension_fails_with_report(on_upload: FlaskClient, gcs: Any) -> None:
    report = failed_report(gcs, on_upload, put(gcs, "notes.txt", b"hello\n"))
    assert "unsupported file type" in report["error"]


def test_oversize_object_is_refused_by_event_size(on_upload: FlaskClient, gcs: Any) -> None:
    blob = put(gcs, "huge.jsonl", fixture("mixed.jsonl"))
    report = failed_report(gcs, on_upload, blob, size=get_settings().upload_max_bytes + 1)
    assert "limit" in report["error"] and review_count() == 0


@pytest.mark.parametrize("data", [b"this is not gzip\n", b"\x1f\x8b\x08\x00"])
def test_bad_gzip_fails_with_report(on_upload: FlaskClient, gcs: Any, data: bytes) -> None:
    report = failed_report(gcs, on_upload, put(gcs, "bad.jsonl.gz", data))
    assert "gzip" in report["error"]


def test_an_empty_gz_is_not_gzip_and_fails(on_upload: FlaskClient, gcs: Any) -> None:
    report = failed_report(gcs, on_upload, put(gcs, "empty.jsonl.gz", b""))
    assert "gzip" in report["error"]


def test_blank_lines_count_toward_the_line_cap(
    on_upload: FlaskClient, gcs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A small .gz of newlines fails at the line cap, not after decompressing to the byte cap."""
    settings_env(monkeypatch, UPLOAD_MAX_LINES=1000)
    report = failed_report(gcs, on_upload, put(gcs, "newlines.jsonl.gz", gz(b"\n" * 5000)))
    assert "more than 1000 lines" in report["error"]
    assert (report["lines"], report["inserted"]) == (0, 0)


@pytest.mark.parametrize("kind", ["jsonl", "csv"])
def test_lines_before_a_cap_are_counted_exactly(
    on_upload: FlaskClient, gcs: Any, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """The lines read before a cap is hit are committed and reported, whatever the batch."""
    settings_env(monkeypatch, UPLOAD_MAX_LINES=6)
    header = b"movie_id,author,content\r\n" if kind == "csv" else b""
    line = (
        b'1,a,"\xec\xa2\x8b\xec\x95\x84\xec\x9a\x94"\r\n'
        if kind == "csv"
        else '{"movie_id": 1, "author": "a", "content": "좋아요"}\r\n'.encode()
    )
    data = header + line * 3 + b"\r\n" * 10 + line * 3
    blob = put(gcs, f"capped.{kind}", data)
    report = failed_report(gcs, on_upload, blob)
    assert "more than 6 lines" in report["error"]
    assert (report["lines"], report["inserted"], report["rejected"]) == (3, 3, 0)
    assert review_count(blob) == 3


def test_truncated_gzip_fails_with_report(on_upload: FlaskClient, gcs: Any) -> None:
    data = gz(fixture("mixed.jsonl") * 50)
    report = failed_report(gcs, on_upload, put(gcs, "cut.jsonl.gz", data[: len(data) // 2]))
    assert "gzip" in report["error"]


def test_non_utf8_object_fails_with_report(on_upload: FlaskClient, gcs: Any) -> None:
    data = fixture("mixed.jsonl").decode("utf-8-sig").encode("cp949")
    report = failed_report(gcs, on_upload, put(gcs, "euckr.jsonl", data))
    assert "not UTF-8" in report["error"] and review_count() == 0


def test_invalid_utf8_line_is_rejected_alone(on_upload: FlaskClient, gcs: Any) -> None:
    lines = fixture("mixed.jsonl").split(b"\r\n")
    lines[0] = lines[0][:40] + b"\xff\xfe" + lines[0][40:]
    blob = put(gcs, "oneline.jsonl", b"\r\n".join(lines))
    assert deliver(on_upload, event_for(blob)).status_code == 200
    assert_exact(blob, MIXED_LINES, MIXED_REJECTED + 1)
    assert read_rejects(gcs, "rejects/oneline.jsonl.jsonl")[0]["reason"] == "invalid UTF-8"


def test_decompression_bomb_fails_with_report(
    on_upload: FlaskClient, gcs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings_env(monkeypatch, UPLOAD_MAX_BYTES=1_000_000)
    bomb = gz(b" " * 50_000_000)
    assert len(bomb) < 100_000
    report = failed_report(gcs, on_upload, put(gcs, "bomb.jsonl.gz", bomb))
    assert "decompressed" in report["error"]


def test_too_many_lines_fails_with_report(
    on_upload: FlaskClient, gcs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings_env(monkeypatch, UPLOAD_MAX_LINES=10)
    report = failed_report(gcs, on_upload, put(gcs, "many.jsonl", fixture("mixed.jsonl")))
    assert "more than 10 lines" in report["error"]


@pytest.mark.parametrize("kind", ["jsonl", "csv"])
def test_too_long_line_is_rejected_and_the_rest_goes_on(
    on_upload: FlaskClient, gcs: Any, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    settings_env(monkeypatch, UPLOAD_MAX_LINE_BYTES=256)
    long_text = "가" * 400
    if kind == "jsonl":
        body = (
            f'{{"movie_id": 1, "author": "a", "content": "{long_text}"}}\n'
            '{"movie_id": 2, "author": "b", "content": "짧다"}\n'
        )
    else:
        body = (
            f"movie_id,author,content\n1,a,{long_text}\n"
            f'1,a,"{long_text[:50]}\n{long_text}"\n2,b,짧다\n'
        )
    blob = put(gcs, f"long.{kind}", body.encode())
    assert deliver(on_upload, event_for(blob)).status_code == 200
    rejected = 1 if kind == "jsonl" else 2
    assert_exact(blob, rejected + 1, rejected)
    rejects = read_rejects(gcs, f"rejects/long.{kind}.jsonl")
    assert all("line too long" in r["reason"] for r in rejects)
    assert all(len(r["raw"]) <= 1024 for r in rejects)


def test_bad_csv_header_fails_with_report(on_upload: FlaskClient, gcs: Any) -> None:
    report = failed_report(gcs, on_upload, put(gcs, "h.csv", b"movie,who,text\n1,a,b\n"))
    assert "CSV header" in report["error"]


def test_missing_object_fails_with_report(on_upload: FlaskClient, gcs: Any) -> None:
    blob = put(gcs, "gone.jsonl", fixture("mixed.jsonl"))
    blob.delete()
    report = failed_report(gcs, on_upload, blob)
    assert "no longer exists" in report["error"]
