"""Large upload, end to end: one instance vs the fan-out to 1 and 2 Cloud Run job tasks.

    .venv/bin/python bench/bench_upload_fanout.py [--lines 1000000] [--tasks 1 2] [--no-single]

Starts an embedded, durable PostgreSQL and the GCS emulator, migrates a template database with
50 movies, builds a JSONL file from NSMC test-split texts (as bench_upload.py does), uploads
it once, then processes it on a fresh copy of the database per run:

- single: the handler's own path in a child process with no time budget (what one function
  instance does, without the 540 s attempts);
- fan-out N: the upload handler with JOB_RUNNER=local, which starts the local job runner
  (N task processes, the Cloud Run task contract) and returns; the run ends when the last
  task has written the report.

Each run is timed from the handler's call to the closed ledger row (report written), model
loads and task start-up included, and checked for exact counts. Prints lines/s per run, the
speed-up over the single instance, and what else was using the machine.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # runnable as `python bench/bench_upload_fanout.py` too

# the sibling benchmarks (bench/ is on the path when this runs as a script)
from bench_rescore import busiest_others  # noqa: E402
from bench_upload import build_file, seed_movies  # noqa: E402

NAME = "bench/big.jsonl"
SINGLE = r"""
import json, math, sys
from shared.uploads import handler
from shared.uploads.event import UploadObject
bucket, name, generation, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
progress = handler.process(UploadObject(bucket, name, generation, size), budget=math.inf)
print(json.dumps({"status": progress.status, "lines": progress.lines}))
"""


def ledger(url: str, generation: int) -> dict[str, Any] | None:
    import sqlalchemy as sa

    from shared import db
    from shared.settings import Settings

    engine = db.build_engine(Settings(database_url=url))
    try:
        with engine.begin() as conn:
            row = (
                conn.execute(
                    sa.text(
                        "SELECT status, lines, inserted, duplicates, rejected, shard_count"
                        " FROM upload_objects WHERE object = :o AND generation = :g"
                    ),
                    {"o": NAME, "g": generation},
                )
                .mappings()
                .one_or_none()
            )
            reviews = conn.execute(sa.text("SELECT count(*) FROM reviews")).scalar_one()
    finally:
        engine.dispose()
    return None if row is None else {**row, "reviews": reviews}


def run_single(url: str, blob: Any) -> float:
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(REPO), "LOG_LEVEL": "WARNING"}
    args = ["uploads", NAME, str(blob.generation), str(blob.size)]
    began = time.perf_counter()
    child = subprocess.run(
        [sys.executable, "-c", SINGLE, *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if child.returncode != 0:
        sys.exit(f"single instance failed:\n{child.stderr[-4000:]}")
    return time.perf_counter() - began


def run_fanout(url: str, blob: Any, tasks: int) -> float:
    """The handler dispatches to the local job runner; wait for the report."""
    from shared import db
    from shared.settings import get_settings
    from shared.uploads import handler
    from shared.uploads.event import UploadObject

    os.environ.update(
        DATABASE_URL=url,
        JOB_RUNNER="local",
        UPLOAD_JOB="uploads",
        UPLOAD_FANOUT_THRESHOLD_BYTES="1",
        UPLOAD_FANOUT_MIN_TASKS=str(tasks),
        UPLOAD_FANOUT_MAX_TASKS=str(tasks),
        LOG_LEVEL="WARNING",
    )
    get_settings.cache_clear()
    db.dispose()
    began = time.perf_counter()
    handler.process(UploadObject("uploads", NAME, int(blob.generation), int(blob.size)))
    while (row := ledger(url, blob.generation)) is None or row["status"] == "processing":
        time.sleep(0.5)
    elapsed = time.perf_counter() - began
    db.dispose()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--tasks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--no-single", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.mkdtemp(prefix="xdg-"))
    os.environ.setdefault("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/unset")
    print(f"before: load average {os.getloadavg()[0]:.1f}; others: {busiest_others()}")

    from gcp_storage_emulator.server import create_server

    from infra import migrate
    from infra.localpg import EmbeddedPostgres, free_port
    from shared import storage

    data = build_file(args.lines, compress=False)
    runs: list[tuple[str, float, dict[str, Any]]] = []
    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as tmp:
        pg = EmbeddedPostgres(Path(tmp) / "pg", free_port(), durable=True).start()
        port = free_port()
        emulator = create_server("127.0.0.1", port, in_memory=True)
        emulator.start()
        os.environ["STORAGE_EMULATOR_HOST"] = f"http://127.0.0.1:{port}"
        try:
            template = pg.create_database("seeded")
            migrate.upgrade_database(template)
            seed_movies(template)
            began = time.perf_counter()
            blob = storage.get_client().create_bucket("uploads").blob(NAME, chunk_size=8 << 20)
            blob.upload_from_file(io.BytesIO(data), size=len(data))
            blob.reload()
            print(
                f"file: {args.lines:,} lines, {len(data) / 1e6:.0f} MB, uploaded in "
                f"{time.perf_counter() - began:.1f} s"
            )
            plan = ([] if args.no_single else ["single"]) + [f"fan-out {n}" for n in args.tasks]
            for label in plan:
                url = pg.create_database(label.replace(" ", "").replace("-", ""), template="seeded")
                if label == "single":
                    seconds = run_single(url, blob)
                else:
                    seconds = run_fanout(url, blob, int(label.split()[-1]))
                row = ledger(url, blob.generation)
                assert row is not None and row["status"] == "done", row
                assert row["lines"] == args.lines == row["inserted"] == row["reviews"], row
                runs.append((label, seconds, row))
                print(f"{label}: {seconds:.1f} s, {args.lines / seconds:,.0f} lines/s", flush=True)
        finally:
            emulator.stop()
            pg.stop("immediate")

    print(f"{'run':<11} {'shards':>6} {'seconds':>8} {'lines/s':>8} {'speed-up':>8}")
    base = runs[0][1]
    for label, seconds, row in runs:
        print(
            f"{label:<11} {row['shard_count'] or 1:>6} {seconds:>8.1f} "
            f"{args.lines / seconds:>8,.0f} {base / seconds:>7.2f}x"
        )
    print(
        f"after: load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; "
        f"others: {busiest_others()}"
    )
    print(json.dumps({label: round(seconds, 1) for label, seconds, _ in runs}))


if __name__ == "__main__":
    main()
