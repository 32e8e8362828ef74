"""Hostile uploads (issue 23) through the CloudEvent surface: one bad line never blocks a
file, failures retry a bounded number of times, and a tiny upload cannot cost a huge one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from shared import db
from tests.support.uploads import (
    CountingScorer,
    assert_exact,
    deliver,
    event_for,
    failed_report,
    gz,
    ledger_row,
    put,
    read_json,
    read_rejects,
    review_count,
    settings_env,
    unpinned_storage,
)


def jsonl(*lines: dict[str, Any]) -> bytes:
    return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode()


def review(n: int, **fields: Any) -> dict[str, Any]:
    return {"movie_id": 1 + n % 3, "author": f"관객{n}", "content": f"리뷰 {n} 재밌어요", **fields}


def test_a_line_whose_timestamp_is_1_bc_in_utc_is_rejected_and_the_rest_commit(
    on_upload: FlaskClient, gcs: Any
) -> None:
    """Issue 23's poison line: it passed validation, failed its batch in the database, and
    the file was retried forever with nothing stored."""
    poison = review(2, created_at="0001-01-01T00:00:00+14:00")
    blob = put(gcs, "poison.jsonl", jsonl(review(1), poison, review(3)))
    assert deliver(on_upload, event_for(blob)).status_code == 200
    assert_exact(blob, 3, 1)
    [reject] = read_rejects(gcs, "rejects/poison.jsonl.jsonl")
    assert reject["line"] == 2 and "once in UTC" in reject["reason"]


@pytest.fixture
def refuses_poison(on_upload: FlaskClient) -> Iterator[None]:
    """The database refuses what validation accepts (a rule validation does not know yet)."""
    with db.transaction() as conn:
        conn.execute(sa.text("ALTER TABLE reviews ADD CONSTRAINT no_poison CHECK (author <> '독')"))
    yield


def test_a_batch_the_database_refuses_is_split_until_the_bad_lines_are_found(
    on_upload: FlaskClient, gcs: Any, refuses_poison: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings_env(monkeypatch, UPLOAD_BATCH_SIZE=16)
    bad = {5, 6, 23, 40}  # two neighbours, one alone, one in the last (short) batch
    lines = [review(n, author="독") if n in bad else review(n) for n in range(1, 42)]
    blob = put(gcs, "refused.jsonl", jsonl(*lines))
    assert deliver(on_upload, event_for(blob)).status_code == 200  # one delivery, no retry

    row = assert_exact(blob, 41, len(bad))
    assert row["attempts"] == 1 and row["checkpoint_line"] == 41
    rejects = read_rejects(gcs, "rejects/refused.jsonl.jsonl")
    assert [r["line"] for r in rejects] == sorted(bad)
    assert all("no_poison" in r["reason"] and "(23514)" in r["reason"] for r in rejects)
    assert json.loads(rejects[0]["raw"]) == lines[4]
    assert deliver(on_upload, event_for(blob)).status_code == 200  # redelivered: no change
    assert_exact(blob, 41, len(bad))


def test_an_infrastructure_failure_is_retried_a_bounded_number_of_times(
    on_upload: FlaskClient, gcs: Any, model_missing: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings_env(monkeypatch, UPLOAD_MAX_ATTEMPTS=3)
    blob = put(gcs, "no-model.jsonl", jsonl(review(1), review(2)))
    for attempt in range(1, 4):
        assert deliver(on_upload, event_for(blob)).status_code == 500  # retry, please
        row = ledger_row(blob)
        assert row is not None and row["status"] == "processing"
        assert row["stalled_attempts"] == attempt and "ModelUnavailable" in row["error"]

    report = failed_report(gcs, on_upload, blob)  # the budget is spent: acknowledged
    assert report["error"].startswith("gave up after 3 attempts in a row that committed nothing")
    assert "infrastructure: ModelUnavailable" in report["error"]
    assert deliver(on_upload, event_for(blob)).status_code == 200  # and it stays failed
    assert review_count() == 0


def test_attempts_that_commit_are_not_charged(
    on_upload: FlaskClient, gcs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long file that needs many attempts (the time budget) never runs out of them."""
    from shared.uploads import pipeline

    settings_env(monkeypatch, UPLOAD_BATCH_SIZE=2, UPLOAD_MAX_ATTEMPTS=1)
    monkeypatch.setattr(pipeline, "TIME_BUDGET_SECONDS", 0.0)  # one batch per attempt
    blob = put(gcs, "long.jsonl", jsonl(*(review(n) for n in range(1, 9))))
    statuses = [deliver(on_upload, event_for(blob)).status_code for _ in range(5)]
    assert statuses == [500, 500, 500, 500, 200]
    assert assert_exact(blob, 8, 0)["attempts"] == 5


def test_rejects_kept_are_capped_by_count_and_bytes(
    on_upload: FlaskClient, gcs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = [{"movie_id": 1, "author": "x" * 60, "content": "너무 긴 이름"} for _ in range(6)]
    blob = put(gcs, "capped.jsonl", jsonl(review(1), *bad, review(2)))
    settings_env(monkeypatch, UPLOAD_MAX_REJECTS=4)
    assert deliver(on_upload, event_for(blob)).status_code == 200
    assert_exact(blob, 8, 6, kept=4)  # every rejected line is counted, 4 kept
    report = read_json(gcs, "reports/capped.jsonl.json")
    assert (report["rejected"], report["rejects_omitted"]) == (6, 2)
    assert [r["line"] for r in read_rejects(gcs, "rejects/capped.jsonl.jsonl")] == [2, 3, 4, 5]

    first = read_rejects(gcs, "rejects/capped.jsonl.jsonl")[0]
    one = len(json.dumps(bad[0])) + len(first["reason"])
    again = put(gcs, "capped.jsonl", jsonl(review(1), *bad, review(2)))
    settings_env(monkeypatch, UPLOAD_MAX_REJECTS=100, UPLOAD_MAX_REJECT_BYTES=2 * one + 1)
    assert deliver(on_upload, event_for(again)).status_code == 200
    assert read_json(gcs, "reports/capped.jsonl.json")["rejects_omitted"] == 4
    assert len(read_rejects(gcs, "rejects/capped.jsonl.jsonl")) == 2


def test_a_tiny_gzip_of_500000_empty_objects_stops_early_with_a_small_rejects_object(
    on_upload: FlaskClient, gcs: Any
) -> None:
    """Issue 23: 1.5 KB of gzip took 82 s and wrote a 55 MB rejects object (37,000x)."""
    data = gz(b"{}\n" * 500_000)
    assert len(data) < 3_000
    report = failed_report(gcs, on_upload, put(gcs, "empty-objects.jsonl.gz", data))
    assert report["error"].startswith("too many rejects: ")
    assert 10_000 <= report["lines"] < 12_000  # stopped once the ratio was known, not at the end
    assert report["rejected"] == report["lines"] and report["inserted"] == 0
    size = gcs.bucket("uploads").get_blob("rejects/empty-objects.jsonl.gz.jsonl").size
    assert size < 2_000_000


# --- "done" means the whole generation -------------------------------------------------------

LINES, BATCH = 200, 20


@pytest.fixture
def small_reads(on_upload: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """Read the object in 2 KiB pieces, so a 200-line file is read while it is scored."""
    from shared.uploads import reader

    monkeypatch.setattr(reader, "READ_CHUNK", 2048)
    monkeypatch.setattr(reader, "BUFFER", 2048)
    settings_env(monkeypatch, UPLOAD_BATCH_SIZE=BATCH)


def overwrite_while_scoring(gcs: Any, monkeypatch: pytest.MonkeyPatch, name: str) -> list[Any]:
    """While the second batch of `name` is scored, a shorter file replaces it."""
    from shared import reviews

    newer: list[Any] = []
    hook = lambda: newer.append(put(gcs, name, jsonl(*(review(n) for n in range(10)))))  # noqa: E731
    monkeypatch.setattr(reviews, "score", CountingScorer(reviews.score, hook, on_call=2))
    return newer


def test_an_object_overwritten_while_processed_is_read_whole_by_generation(
    on_upload: FlaskClient, gcs: Any, small_reads: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = put(gcs, "overwritten.jsonl", jsonl(*(review(n) for n in range(LINES))))
    newer = overwrite_while_scoring(gcs, monkeypatch, "overwritten.jsonl")
    assert deliver(on_upload, event_for(first)).status_code == 200
    assert_exact(first, LINES, 0)  # generation 1, all of it, though generation 2 is live
    assert deliver(on_upload, event_for(newer[0])).status_code == 200
    assert_exact(newer[0], 10, 0)


@pytest.fixture
def unpinned_store(on_upload: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with unpinned_storage(monkeypatch) as client:
        yield client


def test_a_read_that_is_not_the_whole_generation_never_ends_done(
    unpinned_store: Any, small_reads: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support import function_client

    client = function_client("reviews", target="on_upload", signature="cloudevent")
    settings_env(monkeypatch, UPLOAD_MAX_ATTEMPTS=1)
    first = put(unpinned_store, "cut.jsonl", jsonl(*(review(n) for n in range(LINES))))
    overwrite_while_scoring(unpinned_store, monkeypatch, "cut.jsonl")
    assert deliver(client, event_for(first)).status_code == 500  # read short: not finished
    row = ledger_row(first)
    assert row is not None and row["status"] == "processing"
    assert "ReadMismatch" in row["error"] and f"of {first.size}" in row["error"]
    assert 0 < row["checkpoint_line"] < LINES  # what committed stays, nothing counted twice

    assert deliver(client, event_for(first)).status_code == 500  # the store serves generation 2
    report = failed_report(unpinned_store, client, first)  # out of attempts
    assert "ReadMismatch" in report["error"] and report["lines"] < LINES
    assert review_count(first) == report["inserted"]
