"""Crash recovery: the database stopped midway, the handler process killed midway.

Both end, after a redelivery, with exact counts: lines = inserted + rejected, no duplicate
source keys, aggregates equal to a recomputation, and only the unfinished batches rescored.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra import migrate
from infra.localpg import EmbeddedPostgres, free_port
from shared import db, reviews
from shared.sentiment import ScoreFn, get_scorer
from shared.settings import get_settings
from shared.uploads import pipeline
from tests.conftest import use_database
from tests.support import REPO, function_client
from tests.support.uploads import (
    CountingScorer,
    assert_exact,
    create_movies,
    deliver,
    event_for,
    ledger_row,
    put,
    use_model,
)

LINES, BATCH = 200, 20


def base_scorer(monkeypatch: pytest.MonkeyPatch) -> ScoreFn:
    use_model(monkeypatch)
    return get_scorer().score


def sample_file(lines: int = LINES) -> bytes:
    """`lines` lines over movies 1..3; every 10th names a movie that does not exist."""
    rows = []
    for i in range(1, lines + 1):
        movie = 999 if i % 10 == 0 else 1 + i % 3
        rows.append(
            json.dumps(
                {
                    "movie_id": movie,
                    "author": f"u{i}",
                    "content": f"{i}번째 리뷰: 재미있다 {'ㅋ' * (i % 7)}",
                },
                ensure_ascii=False,
            )
        )
    return ("\n".join(rows) + "\n").encode()


@pytest.fixture
def own_postgres(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmbeddedPostgres]:
    """A cluster of this test's own, so stopping it disturbs nobody else.

    Durable (fsync, synchronous commit): an immediate stop must not lose committed batches.
    """
    server = EmbeddedPostgres(tmp_path / "pg", free_port(), durable=True).start()
    url = server.create_database("app")
    migrate.upgrade_database(url)
    use_database(monkeypatch, url, UPLOAD_BATCH_SIZE=str(BATCH))
    yield server
    db.dispose()
    server.stop("immediate")


def test_database_stopped_midway_then_redelivered(
    own_postgres: EmbeddedPostgres, gcs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = base_scorer(monkeypatch)
    create_movies(3)
    blob = put(gcs, "dbdown.jsonl", sample_file())
    event = event_for(blob)

    crashing = CountingScorer(base, hook=lambda: own_postgres.stop("immediate"), on_call=3)
    monkeypatch.setattr(reviews, "score", crashing)
    client = function_client("reviews", target="on_upload", signature="cloudevent")
    assert deliver(client, event).status_code == 500  # raised: Eventarc will retry

    own_postgres.start()
    own_postgres.wait_ready()
    row = ledger_row(blob)
    assert row is not None
    # batch 2 commits while batch 3 is scored, so the stop may catch it in flight
    assert row["status"] == "processing" and row["checkpoint_line"] in (BATCH, 2 * BATCH)

    resumed = CountingScorer(base)
    monkeypatch.setattr(reviews, "score", resumed)
    assert deliver(client, event).status_code == 200
    assert resumed.calls == (LINES - row["checkpoint_line"]) // BATCH  # only uncommitted ones
    row = assert_exact(blob, LINES, LINES // 10)
    assert row["attempts"] == 2


CHILD = """
import sys, time
from shared.sentiment import get_scorer
from shared.uploads import handler
from shared.uploads.event import UploadObject

base = get_scorer().score

def slow(texts):
    time.sleep(0.15)  # room for the parent to kill us between batches or mid-batch
    return base(texts)

bucket, name, generation = sys.argv[1], sys.argv[2], int(sys.argv[3])
handler.process(UploadObject(bucket, name, generation), slow)
"""


def test_handler_killed_midway_then_redelivered(
    database: str, gcs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UPLOAD_BATCH_SIZE", str(BATCH))
    get_settings.cache_clear()
    base = base_scorer(monkeypatch)
    create_movies(3)
    blob = put(gcs, "killed.jsonl", sample_file())
    env = {
        **os.environ,
        "DATABASE_URL": database,
        "UPLOAD_BATCH_SIZE": str(BATCH),
        "PYTHONPATH": str(REPO),
    }
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, blob.bucket.name, blob.name, str(blob.generation)],
        env=env,
        cwd=REPO,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            row = ledger_row(blob)
            if row and row["checkpoint_line"] >= 3 * BATCH:
                break
            assert child.poll() is None, "the handler finished before it could be killed"
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    row = ledger_row(blob)
    assert row is not None and row["status"] == "processing" and 0 < row["checkpoint_line"] < LINES

    resumed = CountingScorer(base)
    monkeypatch.setattr(reviews, "score", resumed)
    client = function_client("reviews", target="on_upload", signature="cloudevent")
    assert deliver(client, event_for(blob)).status_code == 200
    assert resumed.calls == (LINES - row["checkpoint_line"]) // BATCH
    done = assert_exact(blob, LINES, LINES // 10)
    assert done["attempts"] == 2


def test_time_budget_ends_the_attempt_and_redelivery_resumes(
    database: str, gcs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UPLOAD_BATCH_SIZE", str(BATCH))
    get_settings.cache_clear()
    base_scorer(monkeypatch)
    create_movies(3)
    blob = put(gcs, "budget.jsonl", sample_file())
    client = function_client("reviews", target="on_upload", signature="cloudevent")

    monkeypatch.setattr(pipeline, "TIME_BUDGET_SECONDS", 0.0)  # one batch per attempt
    for attempt in range(1, 4):
        assert deliver(client, event_for(blob)).status_code == 500  # redeliver, please
        row = ledger_row(blob)
        assert row is not None and row["checkpoint_line"] == attempt * BATCH

    monkeypatch.setattr(pipeline, "TIME_BUDGET_SECONDS", 480.0)
    assert deliver(client, event_for(blob)).status_code == 200
    assert assert_exact(blob, LINES, LINES // 10)["attempts"] == 4
