"""Large uploads fanned out across Cloud Run job tasks, through the CloudEvent surface.

The handler starts one execution of the `uploads` job per object generation: with the local
job runner (as `make run` does: real task processes), or through the Cloud Run Admin API,
which is the one edge faked here (tests/support/fake_run_api.py). Every test ends with
the exactness invariants of the single-instance path.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from infra.jobs import LOCAL_JOBS, REPO, Runner, task_env
from shared import db
from shared.jobs import launcher
from shared.settings import get_settings
from shared.uploads import fanout
from tests.support import function_client
from tests.support.fake_run_api import FakeRunApi, fake_run_api
from tests.support.uploads import (
    assert_exact,
    create_movies,
    deliver,
    event_for,
    fixture,
    gz,
    ledger_row,
    put,
    use_model,
)

JOB = "projects/p/locations/asia-northeast3/jobs/kmr-test-uploads"
SHARDS = 3
LONG_LINE_BYTES = 256  # the smallest UPLOAD_MAX_LINE_BYTES: one overlong line per copy


def big_file(tag: str, copies: int) -> bytes:
    """`copies` copies of mixed.jsonl (every kind of bad line), plus an overlong line each;
    external ids made unique per copy and per file, so no line is a duplicate."""
    lines = fixture("mixed.jsonl").decode("utf-8-sig").split("\r\n")[:-1]
    out = []
    for copy in range(copies):
        for line in lines:
            out.append(
                re.sub(r'"external_id": "([^"]+)"', rf'"external_id": "\1-{tag}{copy}"', line)
            )
        out.append(json.dumps({"movie_id": 1, "author": "long", "content": "가" * 200}))
    return ("\ufeff" + "\r\n".join(out) + "\r\n").encode()


def fanout_env(monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    settings = {
        "UPLOAD_JOB": JOB,
        "UPLOAD_FANOUT_THRESHOLD_BYTES": "1000",
        "UPLOAD_FANOUT_MIN_TASKS": str(SHARDS),
        "UPLOAD_FANOUT_MAX_TASKS": str(SHARDS),
        "UPLOAD_FANOUT_MAX_RUNNING": "1",
        "UPLOAD_BATCH_SIZE": "16",
        "UPLOAD_MAX_LINE_BYTES": str(LONG_LINE_BYTES),
        **env,
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()


@pytest.fixture
def on_upload(database: str, gcs: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    use_model(monkeypatch)
    create_movies(3)
    return function_client("reviews", target="on_upload", signature="cloudevent")


@pytest.fixture
def cloud(on_upload: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeRunApi]:
    fanout_env(monkeypatch, JOB_RUNNER="cloud")
    with fake_run_api() as api:
        client = api.client()
        monkeypatch.setattr(launcher, "jobs_client", lambda: client)
        yield api


def wait_done(blob: Any, timeout: float = 240) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = ledger_row(blob)
        if row is not None and row["status"] != "processing":
            return row
        time.sleep(0.2)
    raise AssertionError(f"{blob.name} did not finish: {ledger_row(blob)}")


def report_of(gcs: Any, blob: Any) -> dict[str, Any]:
    data = gcs.bucket("uploads").blob(f"reports/{blob.name}.json").download_as_bytes()
    return dict(json.loads(data))


def rejects_of(gcs: Any, blob: Any) -> list[dict[str, Any]]:
    text = gcs.bucket("uploads").blob(f"rejects/{blob.name}.jsonl").download_as_text()
    return [json.loads(line) for line in text.splitlines()]


def rows_by_line(blob: Any) -> dict[int, tuple[Any, ...]]:
    """Each stored review of the object by its physical line (external id without its tag)."""
    prefix = f"gs://uploads/{blob.name}#{blob.generation}:"
    with db.transaction() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT source_key, movie_id, author, content, label, positivity, confidence,"
                " rating, model_version, regexp_replace(external_id, '-[a-z]+[0-9]+$', '')"
                " FROM reviews WHERE starts_with(source_key, :p)"
            ),
            {"p": prefix},
        ).all()
    return {int(row[0].rsplit(":", 1)[1]): tuple(row[1:]) for row in rows}


def shard_rows(blob: Any) -> list[dict[str, Any]]:
    with db.transaction() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT * FROM upload_shards WHERE bucket = 'uploads' AND object = :o"
                " AND generation = :g ORDER BY shard"
            ),
            {"o": blob.name, "g": blob.generation},
        ).mappings()
        return [dict(row) for row in rows]


COMPARED = ("status", "lines", "inserted", "duplicates", "rejected", "model_version", "error")


def test_a_fanned_out_file_ends_exactly_as_the_single_instance_path(
    on_upload: Any, gcs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    copies = 6
    fanout_env(monkeypatch, UPLOAD_JOB="")  # no job: the single-instance path
    single = put(gcs, "partner/single.jsonl", big_file("s", copies))
    assert deliver(on_upload, event_for(single)).status_code == 200
    single_row = assert_exact(single, 16 * copies, 8 * copies)

    fanout_env(monkeypatch, JOB_RUNNER="local", UPLOAD_JOB="uploads")  # as `make run` does
    fanned = put(gcs, "partner/fanned.jsonl", big_file("f", copies))
    assert deliver(on_upload, event_for(fanned)).status_code == 200  # returns at once
    row = ledger_row(fanned)
    assert row is not None and row["shard_count"] == SHARDS and row["execution"]
    wait_done(fanned)
    fanned_row = assert_exact(fanned, 16 * copies, 8 * copies)

    assert {k: fanned_row[k] for k in COMPARED} == {k: single_row[k] for k in COMPARED}
    single_report, fanned_report = report_of(gcs, single), report_of(gcs, fanned)
    assert {k: fanned_report[k] for k in COMPARED} == {k: single_report[k] for k in COMPARED}
    assert (single_report["shards"], fanned_report["shards"]) == (1, SHARDS)
    assert fanned_report["execution"] == row["execution"]
    assert rejects_of(gcs, fanned) == rejects_of(gcs, single)  # physical line numbers
    assert rows_by_line(fanned) == rows_by_line(single)

    shards = shard_rows(fanned)
    assert [s["status"] for s in shards] == ["done"] * SHARDS
    assert all(s["lines"] > 0 for s in shards)  # every shard had work
    assert sum(s["lines"] for s in shards) == fanned_row["lines"]
    assert [s["first_line"] for s in shards] == sorted(s["first_line"] for s in shards)


def test_a_redelivered_event_never_starts_a_second_execution(cloud: FakeRunApi, gcs: Any) -> None:
    blob = put(gcs, "partner/dup.jsonl", big_file("d", 2))
    event = event_for(blob)
    assert deliver(cloud_client(), event).status_code == 200
    statuses: list[int] = []
    threads = [
        threading.Thread(target=lambda: statuses.append(deliver(cloud_client(), event).status_code))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert deliver(cloud_client(), event_for(blob)).status_code == 200
    assert statuses == [200] * 4

    (call,) = cloud.calls  # one execution for six deliveries
    overrides = call["body"]["overrides"]
    assert call["job"] == JOB and overrides["taskCount"] == SHARDS
    (container,) = overrides["containerOverrides"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env == {fanout.OBJECT_ENV: f"gs://uploads/{blob.name}#{blob.generation}"}
    row = ledger_row(blob)
    assert row is not None and row["status"] == "processing"
    assert row["execution"] == f"{JOB}/executions/kmr-test-uploads-00001"

    # the overrides are all the tasks need: run the execution Cloud Run would run, with the
    # pool Terraform gives a task (2 connections, no overflow: the budget counts 2)
    pool = {"DB_POOL_SIZE": "2", "DB_MAX_OVERFLOW": "0", "DB_POOL_TIMEOUT": "5"}
    execution = Runner(
        "uploads", LOCAL_JOBS["uploads"], overrides["taskCount"], {**env, **pool}, max_retries=0
    ).run()
    assert execution.succeeded, execution.summary()
    assert_exact(blob, 32, 16)
    assert deliver(cloud_client(), event).status_code == 200 and len(cloud.calls) == 1


def cloud_client() -> Any:
    return function_client("reviews", target="on_upload", signature="cloudevent")


def test_a_shard_task_killed_midway_resumes_from_its_checkpoint(
    cloud: FakeRunApi, gcs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UPLOAD_BATCH_SIZE", "4")
    get_settings.cache_clear()
    blob = put(gcs, "partner/killed.jsonl", big_file("k", 24))
    assert deliver(cloud_client(), event_for(blob)).status_code == 200
    assert len(cloud.calls) == 1
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        fanout.OBJECT_ENV: f"gs://uploads/{blob.name}#{blob.generation}",
    }

    def task(index: int, attempt: int) -> subprocess.Popen[bytes]:
        contract = task_env("uploads", "exec-1", index, SHARDS, attempt)
        return subprocess.Popen(
            [sys.executable, *LOCAL_JOBS["uploads"]], cwd=REPO, env={**env, **contract}
        )

    victim = task(1, 0)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        shards = {s["shard"]: s for s in shard_rows(blob)}
        started = shards.get(1)
        if (
            started
            and started["first_line"]
            and started["checkpoint_line"] >= started["first_line"]
        ):
            break
        assert victim.poll() is None
        time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    killed = {s["shard"]: s for s in shard_rows(blob)}[1]
    assert killed["status"] == "processing" and killed["lines"] > 0

    for index, attempt in ((0, 0), (1, 1), (2, 0)):
        assert task(index, attempt).wait(180) == 0
    row = assert_exact(blob, 16 * 24, 8 * 24)
    assert row["status"] == "done"
    assert {s["shard"]: s["attempts"] for s in shard_rows(blob)} == {0: 1, 1: 2, 2: 1}
    assert report_of(gcs, blob)["lines"] == 16 * 24


@pytest.mark.parametrize(
    ("name", "encode"),
    [("partner/big.csv", None), ("partner/big.jsonl.gz", gz)],
)
def test_csv_and_gzip_stay_on_the_single_instance_path(
    cloud: FakeRunApi, gcs: Any, name: str, encode: Any
) -> None:
    if name.endswith(".csv"):
        body = fixture("quoted.csv")  # quoted line breaks: byte ranges could split a record
        data = body + b"\r\n".join(body.split(b"\r\n", 1)[1] for _ in range(40))
    else:
        data = encode(big_file("g", 30))  # compresses well: still over the threshold
    blob = put(gcs, name, data)
    assert blob.size > 1000
    assert deliver(cloud_client(), event_for(blob)).status_code == 200
    assert cloud.calls == []
    row = ledger_row(blob)
    assert row is not None and row["status"] == "done" and row["shard_count"] is None


def test_beyond_the_running_limit_a_large_file_is_processed_in_the_function(
    cloud: FakeRunApi, gcs: Any
) -> None:
    first = put(gcs, "partner/first.jsonl", big_file("a", 2))
    assert deliver(cloud_client(), event_for(first)).status_code == 200  # fanned out, running
    second = put(gcs, "partner/second.jsonl", big_file("b", 2))
    assert deliver(cloud_client(), event_for(second)).status_code == 200
    assert len(cloud.calls) == 1
    row = assert_exact(second, 32, 16)
    assert row["shard_count"] is None


def test_an_object_gone_before_its_tasks_run_fails_once_with_a_report(
    cloud: FakeRunApi, gcs: Any
) -> None:
    blob = put(gcs, "partner/gone.jsonl", big_file("x", 2))
    assert deliver(cloud_client(), event_for(blob)).status_code == 200
    generation = blob.generation
    blob.delete()  # this generation: the bucket is versioned, so a live delete would keep it
    env = {fanout.OBJECT_ENV: f"gs://uploads/{blob.name}#{generation}"}
    assert Runner("uploads", LOCAL_JOBS["uploads"], SHARDS, env).run().succeeded
    row = ledger_row(blob)
    assert row is not None and row["status"] == "failed" and "no longer exists" in row["error"]
    assert report_of(gcs, blob)["status"] == "failed"
    assert [s["status"] for s in shard_rows(blob)] == ["failed"] * SHARDS
