"""The rescoring job end to end: real task processes, PostgreSQL, the GCS emulator, the model.

Reviews are seeded as if an older model had scored them; the target is the committed artifact
published under another version name. Each test checks the exactness invariants: every row
on the target version exactly once, counts that add up, aggregates (model version counts
included) equal to a recomputation.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from infra import jobs
from shared import db
from shared.jobs.task import TaskEnv
from shared.rescore import batches, ledger
from shared.sentiment import load_scorer
from shared.settings import get_settings
from tests.support import function_client
from tests.support.rescore import (
    MODELS_BUCKET,
    OLD_VERSION,
    assert_no_drift,
    make_target_model,
    row_versions,
    run_job,
    seed_reviews,
    start_task,
    stderr_of,
    summary_of,
    tasks_of,
    versions,
)

TARGET = "rescore-test-v2"


@pytest.fixture(scope="session")
def target_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_target_model(tmp_path_factory.mktemp("models"), TARGET)


@pytest.fixture
def job(database: str, gcs: Any, target_model: Path) -> Iterator[Path]:
    gcs.create_bucket(MODELS_BUCKET)
    yield target_model


def test_three_tasks_rescore_every_review_once_and_a_rerun_touches_nothing(job: Path) -> None:
    seed_reviews(700)
    execution = run_job(job, tasks=3, execution="rescore-first", RESCORE_BATCH_SIZE="50")
    assert execution.succeeded, execution.summary()

    assert versions() == {TARGET: 700}
    body = summary_of("rescore-first")
    assert (body["status"], body["tasks"], body["model_version"]) == ("done", 3, TARGET)
    assert (body["seen"], body["rescored"], body["skipped"], body["conflicts"]) == (700, 700, 0, 0)
    assert sum(part["rescored"] for part in body["per_task"]) == 700
    assert all(part["rescored"] > 0 for part in body["per_task"])  # the work was shared
    assert body["duration_seconds"] > 0 and body["rows_per_second"] > 0
    assert_no_drift()

    # the scores are the target model's own, not merely a new label
    scorer = load_scorer(str(job))
    # batched as the job's runtime batches (INT8 activations are quantised per batch, so the
    # same text can score a hair differently in another batch)
    scorer.engine.batch_size = get_settings().model_batch_size
    with db.transaction() as conn:
        rows = conn.execute(
            sa.text("SELECT content, label, positivity, rating FROM reviews ORDER BY id LIMIT 50")
        ).all()
    expected = scorer.score([row.content for row in rows])
    assert [(r.label, r.positivity, r.rating) for r in rows] == [
        (s.label, s.positivity, s.rating) for s in expected
    ]

    before = row_versions()
    again = run_job(job, tasks=2, execution="rescore-again")
    assert again.succeeded
    body = summary_of("rescore-again")
    assert (body["seen"], body["rescored"], body["skipped"]) == (700, 0, 700)
    assert row_versions() == before  # not one row written
    assert_no_drift()


def test_make_rescore_prints_the_summary_and_ratings_count_versions(
    job: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)  # the CLI may set it
    seed_reviews(40, movies=2)
    ratings = function_client("ratings")
    first = ratings.get("/ratings/1").get_json()
    assert first["model_versions"] == {OLD_VERSION: 20}
    waiting = function_client("reviews").get(
        "/reviews", query_string={"model_version": OLD_VERSION}
    )
    assert len(waiting.get_json()["items"]) == 20 and waiting.get_json()["next_cursor"]

    # what `make rescore MODEL_URI=... TASKS=2` runs (against this test's stack)
    assert jobs.main(["rescore", "--model-uri", str(job), "--tasks", "2"]) == 0
    printed = capsys.readouterr().out
    body = json.loads(printed[printed.index("{\n") :])
    assert (body["tasks"], body["seen"], body["rescored"], body["model_version"]) == (
        2,
        40,
        40,
        TARGET,
    )
    reviews = function_client("reviews")
    left = reviews.get("/reviews", query_string={"model_version": OLD_VERSION}).get_json()
    assert left == {"items": [], "next_cursor": None}  # the rollout is finished
    moved = reviews.get("/reviews", query_string={"model_version": TARGET, "limit": 100})
    assert len(moved.get_json()["items"]) == 40
    assert all(part["rescored"] > 0 for part in body["per_task"])  # blocks sized to the data
    after = ratings.get("/ratings/1").get_json()
    assert after["model_versions"] == {TARGET: 20}
    assert after["review_count"] == 20
    assert_no_drift()


def test_a_task_killed_midway_resumes_from_its_checkpoint_on_retry(job: Path) -> None:
    seed_reviews(1000)
    first = start_task(job, "rescore-killed", 0, 1, attempt=0, RESCORE_BATCH_SIZE="8")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        rows = tasks_of("rescore-killed")
        if rows and rows[0].checkpoint_id > 0:
            break
        assert first.poll() is None, stderr_of(first)
        time.sleep(0.01)
    first.send_signal(signal.SIGKILL)
    first.wait()

    (killed,) = tasks_of("rescore-killed")
    assert killed.status == "running" and 0 < killed.rescored < 1000
    assert versions()[TARGET] == killed.rescored  # the ledger holds exactly what committed
    assert_no_drift()

    retry = start_task(job, "rescore-killed", 0, 1, attempt=1, RESCORE_BATCH_SIZE="8")
    assert retry.wait(120) == 0, stderr_of(retry)
    (done,) = tasks_of("rescore-killed")
    assert (done.status, done.attempts) == ("done", 2)
    assert (done.seen, done.rescored, done.conflicts) == (1000, 1000, 0)
    assert versions() == {TARGET: 1000}
    assert summary_of("rescore-killed")["rescored"] == 1000
    assert_no_drift()


def test_two_concurrent_executions_rescore_each_row_once(job: Path) -> None:
    seed_reviews(600)
    results = {}

    def execute(name: str) -> None:
        results[name] = run_job(job, tasks=2, execution=name, RESCORE_BATCH_SIZE="32")

    threads = [threading.Thread(target=execute, args=(name,)) for name in ("exec-a", "exec-b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    assert all(result.succeeded for result in results.values())

    assert versions() == {TARGET: 600}
    a, b = summary_of("exec-a"), summary_of("exec-b")
    assert a["seen"] == b["seen"] == 600
    assert a["rescored"] + b["rescored"] == 600  # no row rescored twice
    assert_no_drift()


def _task(execution: str) -> TaskEnv:
    return TaskEnv("rescore", execution, 0, 1, 0)


def test_an_edit_after_the_read_is_never_overwritten_with_a_stale_score(
    job: Path, auth: dict[str, str]
) -> None:
    seed_reviews(10, movies=1)
    reviews = function_client("reviews")
    scorer = load_scorer(str(job))
    task = _task("rescore-edit")
    row = ledger.claim(task, TARGET, str(job))

    batch = batches.read(1, 4096, TARGET, 512)
    new_text = "완전히 새로 쓴 리뷰: 최고의 영화"
    edited = reviews.patch(f"/reviews/{batch.ids[3]}", json={"content": new_text}, headers=auth)
    assert edited.status_code == 200
    row = batches.commit(task, row.checkpoint_id, batch, scorer.score(batch.contents))

    assert (row.seen, row.rescored, row.conflicts) == (10, 9, 1)
    after = reviews.get(f"/reviews/{batch.ids[3]}").get_json()
    assert after["content"] == new_text
    assert after["sentiment"] == edited.get_json()["sentiment"]  # the edit's own score stays
    assert_no_drift()


def test_an_edit_committed_while_the_batch_waits_for_its_row_lock_wins(job: Path) -> None:
    seed_reviews(10, movies=1)
    scorer = load_scorer(str(job))
    task = _task("rescore-race")
    row = ledger.claim(task, TARGET, str(job))
    batch = batches.read(1, 4096, TARGET, 512)
    victim = batch.ids[5]

    editor = db.get_engine().connect()
    edit = editor.begin()
    editor.execute(
        sa.text(
            "UPDATE reviews SET content = 'edited', label = 'positive', positivity = 0.9,"
            " model_version = 'serving-model' WHERE id = :id"
        ),
        {"id": victim},
    )
    result: dict[str, ledger.TaskRow] = {}
    committer = threading.Thread(
        target=lambda: result.update(
            row=batches.commit(task, row.checkpoint_id, batch, scorer.score(batch.contents))
        )
    )
    committer.start()
    _wait_for_lock_wait()
    edit.commit()
    editor.close()
    committer.join(30)

    assert (result["row"].rescored, result["row"].conflicts) == (9, 1)
    with db.transaction() as conn:
        content, version = conn.execute(
            sa.text("SELECT content, model_version FROM reviews WHERE id = :id"), {"id": victim}
        ).one()
    assert (content, version) == ("edited", "serving-model")
    assert_no_drift()


def _wait_for_lock_wait() -> None:
    deadline = time.monotonic() + 10
    with db.get_engine().connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
            conn.rollback()
            if waiting:
                return
            time.sleep(0.02)
    raise AssertionError("the batch never waited for the edited row's lock")


def test_an_execution_name_reused_for_another_model_is_refused(job: Path) -> None:
    seed_reviews(5, movies=1)
    ledger.claim(_task("rescore-reused"), "some-other-version", "gs://models/x/")
    process = start_task(job, "rescore-reused", 0, 1, attempt=0)
    assert process.wait(60) == 1
    assert versions() == {OLD_VERSION: 5}
