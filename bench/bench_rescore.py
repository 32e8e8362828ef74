"""Rescoring throughput: 200k reviews rescored by the job with 1 and with 2 tasks.

    .venv/bin/python bench/bench_rescore.py [--reviews 200000] [--tasks 1 2] [--batch-size 512]

Starts an embedded, durable PostgreSQL and the GCS emulator, migrates, seeds the reviews once
(NSMC test-split texts over 50 movies, as if scored by an older model) into a template
database, and for each task count rescores a fresh copy of it with the committed model
published under another version name, through the local job runner (real task processes,
the same environment contract as Cloud Run). Prints, per task count, the execution summary's
rows/s (first task start to last task end, model load included) and the wall time of the
whole execution (process start-up included); then a re-run of the finished backfill, which
must rescore nothing. Finally the load average and the busiest other processes, since the
machine may be shared.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # runnable as `python bench/bench_rescore.py` too
NSMC = REPO.parent / "shared" / "data" / "nsmc" / "reviews-test.tsv.gz"
MOVIES = 50
OLD_VERSION = "bench-old-model"
TARGET = "bench-rescore-target"


def texts() -> list[str]:
    with gzip.open(NSMC, "rt", encoding="utf-8", newline="") as source:
        rows = csv.DictReader(source, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [row["text"].strip()[:2000] for row in rows if row["text"] and row["text"].strip()]


def seed(url: str, reviews: int) -> None:
    import sqlalchemy as sa

    from shared import db
    from shared.db import text_array
    from shared.settings import Settings

    engine = db.build_engine(Settings(database_url=url, db_statement_timeout_ms=600_000))
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO movies (title) SELECT 'movie ' || i FROM generate_series(1, :n) i"
            ),
            {"n": MOVIES},
        )
        conn.execute(
            sa.text("""
            INSERT INTO reviews (movie_id, author, content, label, positivity, confidence,
                                 rating, model_version)
            SELECT 1 + mod(i, :movies), 'user' || mod(i, 997),
                   t.texts[1 + mod(i, cardinality(t.texts))],
                   (ARRAY['negative', 'neutral', 'positive'])[1 + mod(i, 3)], mod(i, 11) / 10.0,
                   0.5, 1 + mod(i, 10), :version
            FROM generate_series(0, :n - 1) i, (SELECT CAST(:texts AS text[]) AS texts) t
            """),
            {"movies": MOVIES, "n": reviews, "version": OLD_VERSION, "texts": text_array(texts())},
        )
    with engine.begin() as conn:
        conn.execute(sa.text("ANALYZE"))
    engine.dispose()


def rescore(url: str, model: Path, tasks: int, execution: str, batch: int | None) -> dict[str, Any]:
    from infra.jobs import LOCAL_JOBS, Runner
    from shared.rescore import summary

    env = {
        "DATABASE_URL": url,
        "MODEL_URI": str(model),
        "DB_POOL_SIZE": "2",
        "DB_MAX_OVERFLOW": "0",
        "LOG_LEVEL": "WARNING",
        "TOKENIZERS_PARALLELISM": "false",
    }
    if batch:
        env["RESCORE_BATCH_SIZE"] = str(batch)
    began = time.perf_counter()
    result = Runner("rescore", LOCAL_JOBS["rescore"], tasks, env, execution=execution).run()
    wall = time.perf_counter() - began
    if not result.succeeded:
        sys.exit(f"execution failed: {result.summary()}")
    body = summary.read("models", execution)
    assert body is not None
    return body | {"wall_seconds": wall}


def busiest_others() -> str:
    import psutil

    me = {os.getpid(), *(p.pid for p in psutil.Process().children(recursive=True))}
    procs = []
    for proc in psutil.process_iter(["pid", "cpu_percent", "cmdline"]):
        proc.cpu_percent(None)
        procs.append(proc)
    time.sleep(1.0)
    rows = []
    for proc in procs:
        try:
            cpu = proc.cpu_percent(None)
        except psutil.Error:
            continue
        if proc.pid not in me and cpu >= 10:
            rows.append((cpu, " ".join(proc.info["cmdline"] or [])[:80]))
    return "; ".join(f"{cpu:.0f}% {cmd}" for cpu, cmd in sorted(rows, reverse=True)[:4]) or "none"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reviews", type=int, default=200_000)
    parser.add_argument("--tasks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batch-size", type=int, default=None)
    args = parser.parse_args()
    os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.mkdtemp(prefix="xdg-"))
    os.environ.setdefault("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/unset")
    print(f"before: load average {os.getloadavg()[0]:.1f}; others: {busiest_others()}")

    from gcp_storage_emulator.server import create_server

    from infra import migrate
    from infra.localpg import EmbeddedPostgres, free_port
    from infra.rollout import relabel
    from shared import storage
    from shared.settings import Settings

    with tempfile.TemporaryDirectory(prefix="bench-rescore-") as tmp:
        root = Path(tmp)
        pg = EmbeddedPostgres(root / "pg", free_port(), durable=True).start()
        port = free_port()
        emulator = create_server("127.0.0.1", port, in_memory=True)
        emulator.start()
        os.environ["STORAGE_EMULATOR_HOST"] = f"http://127.0.0.1:{port}"
        try:
            storage.get_client().create_bucket("models")
            template = pg.create_database("seeded")
            migrate.upgrade_database(template)
            began = time.perf_counter()
            seed(template, args.reviews)
            print(f"seeded {args.reviews} reviews in {time.perf_counter() - began:.0f} s")
            default = REPO / str(Settings.model_fields["model_uri"].default)
            model = relabel(default, root / TARGET, TARGET)
            results = []
            for tasks in args.tasks:
                url = pg.create_database(f"run{tasks}", template="seeded")
                body = rescore(url, model, tasks, f"bench-{tasks}", args.batch_size)
                results.append((tasks, body))
                if tasks == args.tasks[-1]:
                    again = rescore(url, model, tasks, f"bench-{tasks}-again", args.batch_size)
        finally:
            emulator.stop()
            pg.stop("immediate")

    print(
        f"{'tasks':>5} {'rescored':>9} {'seconds':>8} {'rows/s':>8} {'per task':>9} "
        f"{'speed-up':>8} {'wall s':>7}"
    )
    base = results[0][1]["rows_per_second"]
    for tasks, body in results:
        rate = body["rows_per_second"]
        print(
            f"{tasks:>5} {body['rescored']:>9} {body['duration_seconds']:>8.1f} {rate:>8,.0f} "
            f"{rate / tasks:>9,.0f} {rate / base:>7.2f}x {body['wall_seconds']:>7.1f}"
        )
    print(
        f"re-run with {args.tasks[-1]} tasks: seen {again['seen']}, rescored {again['rescored']},"
        f" {again['duration_seconds']:.1f} s ({again['seen_per_second']:,.0f} rows/s read)"
    )
    print(
        f"after: load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; "
        f"others: {busiest_others()}"
    )


if __name__ == "__main__":
    main()
