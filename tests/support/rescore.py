"""Helpers for rescoring tests: a second model version, seeded reviews, job runs, checks."""

from __future__ import annotations

import csv
import gzip
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from infra import aggregates
from infra.jobs import LOCAL_JOBS, REPO, Execution, Runner, task_env
from infra.rollout import relabel
from shared import db
from shared.rescore import ledger, summary
from shared.rescore.ledger import TaskRow
from shared.settings import Settings
from tests.support import FIXTURES

OLD_VERSION = "stored-old-model"
MODELS_BUCKET = "models"


def default_artifact() -> Path:
    """The artifact the settings default to (whatever folder the lead ships)."""
    return REPO / str(Settings.model_fields["model_uri"].default)


def make_target_model(root: Path, version: str) -> Path:
    """The committed artifact published under another version name (no training)."""
    return relabel(default_artifact(), root / version, version)


def texts(count: int) -> list[str]:
    """`count` real review texts from the committed NSMC sample (repeated if needed)."""
    with gzip.open(FIXTURES / "nsmc" / "reviews-test.tsv.gz", "rt", encoding="utf-8") as f:
        rows = [row["text"] for row in csv.DictReader(f, delimiter="\t") if row["text"].strip()]
    return [rows[i % len(rows)] for i in range(count)]


def seed_reviews(count: int, movies: int = 5, version: str = OLD_VERSION) -> None:
    """Movies 1..movies and `count` reviews scored by an older model (through the triggers)."""
    contents = texts(count)
    with db.transaction() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO movies (title) SELECT 'movie ' || i FROM generate_series(1, :n) i"
            ),
            {"n": movies},
        )
        rows = [
            {
                "movie_id": 1 + i % movies,
                "author": f"u{i}",
                "content": content,
                "label": ("negative", "neutral", "positive")[i % 3],
                "positivity": (i % 10) / 10,
                "rating": 1 + i % 10,
                "version": version,
            }
            for i, content in enumerate(contents)
        ]
        conn.execute(
            sa.text(
                "INSERT INTO reviews (movie_id, author, content, label, positivity, confidence,"
                " rating, model_version) VALUES (:movie_id, :author, :content, :label,"
                " :positivity, 0.5, :rating, :version)"
            ),
            rows,
        )


def task_environment(model: Path, **extra: str) -> dict[str, str]:
    """What a task process needs: this test's database and emulator, the target model."""
    return {
        "DATABASE_URL": os.environ["DATABASE_URL"],
        "STORAGE_EMULATOR_HOST": os.environ["STORAGE_EMULATOR_HOST"],
        "MODEL_URI": str(model),
        "MODELS_BUCKET": MODELS_BUCKET,
        "DB_POOL_SIZE": "2",
        "DB_MAX_OVERFLOW": "0",
        "TOKENIZERS_PARALLELISM": "false",
        **extra,
    }


def run_job(model: Path, tasks: int, execution: str, **extra: str) -> Execution:
    runner = Runner(
        "rescore",
        LOCAL_JOBS["rescore"],
        tasks,
        task_environment(model, **extra),
        execution=execution,
        max_retries=0,
    )
    return runner.run()


def start_task(
    model: Path, execution: str, index: int, count: int, attempt: int, **extra: str
) -> subprocess.Popen[bytes]:
    """One task process, started by hand (to kill it or run it twice)."""
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        **task_environment(model, **extra),
        **task_env("rescore", execution, index, count, attempt),
    }
    return subprocess.Popen(
        [sys.executable, *LOCAL_JOBS["rescore"]],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def versions() -> dict[str, int]:
    with db.transaction() as conn:
        rows = conn.execute(sa.text("SELECT model_version, count(*) FROM reviews GROUP BY 1")).all()
    return {str(version): int(n) for version, n in rows}


def tasks_of(execution: str) -> list[TaskRow]:
    return ledger.execution_tasks(execution)


def summary_of(execution: str) -> dict[str, Any]:
    body = summary.read(MODELS_BUCKET, execution)
    assert body is not None, f"no summary for {execution}"
    return body


def assert_no_drift() -> None:
    """infra.aggregates verify finds every aggregate (model version counts included) exact."""
    with db.transaction() as conn:
        drift = aggregates.verify(conn)
    assert drift.clean, (drift.ratings[:3], drift.daily[:3])


def row_versions() -> dict[int, tuple[Any, ...]]:
    """Each review's (xmin, updated_at, model_version): xmin changes when a row is written."""
    with db.transaction() as conn:
        rows = conn.execute(
            sa.text("SELECT id, xmin::text, updated_at, model_version FROM reviews")
        ).all()
    return {int(row[0]): tuple(row[1:]) for row in rows}


def stderr_of(process: subprocess.Popen[bytes]) -> str:
    assert process.stderr is not None
    return process.stderr.read().decode(errors="replace")[-3000:]
