"""Upload throughput and handler memory: a 100k-line JSONL file, end to end, in-process stack.

    .venv/bin/python bench/bench_upload.py [--lines 100000] [--batch-size N] [--gzip]
        [--trace RATIO]

Starts an embedded PostgreSQL (durable) and the GCS emulator, migrates, creates 50 movies,
builds the file from NSMC test-split texts (../shared/data/nsmc/reviews-test.tsv.gz), uploads
it, then runs the upload handler in a child process (so its peak RSS is its own) and prints
lines/s end to end (model load included) and for the ingestion alone, peak RSS, and the CPU
seconds of the handler and of PostgreSQL (all of the cluster's processes) per 1,000 lines.
The handler gets MODEL_THREADS as `make run` gives it (the machine's cores) unless the
environment sets it. `--trace RATIO` runs the handler with tracing on (TRACE_EXPORTER=file
into a temporary file, TRACE_SAMPLE_RATIO=RATIO): against a run without, the cost of
tracing (issue 20: <= 3% at 0.1). An upload is one trace, so at 0.1 one upload in ten is
traced whole: `--trace 1` is that upload's cost.
"""

from __future__ import annotations

import argparse
import csv
import gzip
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
sys.path.insert(0, str(REPO))  # runnable as `python bench/bench_upload.py` too
NSMC = REPO.parent / "shared" / "data" / "nsmc" / "reviews-test.tsv.gz"
MOVIES = 50

CHILD = r"""
import json, resource, sys, time
started = time.perf_counter()
from shared.sentiment import get_scorer
from shared.uploads import handler
from shared.uploads.event import UploadObject
get_scorer()
loaded = time.perf_counter()
bucket, name, generation, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
progress = handler.process(UploadObject(bucket, name, generation, size))
done = time.perf_counter()
usage = resource.getrusage(resource.RUSAGE_SELF)
# VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec, so it would report this bench's
# own size at the fork (the file and the in-memory emulator: 743 MB for 1M lines)
status = open("/proc/self/status").read().splitlines()
peak_kb = int(next(line for line in status if line.startswith("VmHWM")).split()[1])
print(json.dumps({
    "cpu_seconds": usage.ru_utime + usage.ru_stime,
    "status": progress.status, "lines": progress.lines, "inserted": progress.inserted,
    "rejected": progress.rejected, "duplicates": progress.duplicates,
    "model_version": progress.model_version, "load_seconds": loaded - started,
    "ingest_seconds": done - loaded,
    "peak_rss_mb": peak_kb / 1024,
}))
"""


def texts() -> list[str]:
    with gzip.open(NSMC, "rt", encoding="utf-8", newline="") as source:
        rows = csv.DictReader(source, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [row["text"].strip() for row in rows if row["text"] and row["text"].strip()]


def build_file(lines: int, compress: bool) -> bytes:
    pool = texts()
    out = io.BytesIO()
    sink = gzip.GzipFile(fileobj=out, mode="wb") if compress else out
    for i in range(lines):
        line = {
            "movie_id": 1 + i % MOVIES,
            "author": f"user{i % 997}",
            "content": pool[i % len(pool)],
            "external_id": f"bench-{i}",
        }
        sink.write((json.dumps(line, ensure_ascii=False) + "\n").encode())
    if compress:
        sink.close()
    return out.getvalue()


def seed_movies(url: str) -> None:
    """MOVIES movies in a migrated database: the file's lines name ids 1..MOVIES."""
    import sqlalchemy as sa

    from shared import db
    from shared.settings import Settings

    engine = db.build_engine(Settings(database_url=url))
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO movies (title) SELECT 'movie ' || i FROM generate_series(1, :n) i"
            ),
            {"n": MOVIES},
        )
    engine.dispose()


def start_stack(root: Path, shared_buffers: str | None = None) -> tuple[Any, str, Any, str]:
    from gcp_storage_emulator.server import create_server

    from infra import migrate
    from infra.localpg import EmbeddedPostgres, free_port

    pg = EmbeddedPostgres(root / "pg", free_port(), durable=True)
    if shared_buffers:
        pg.configure(shared_buffers=shared_buffers)
    pg.start()
    url = pg.create_database("bench")
    migrate.upgrade_database(url)
    seed_movies(url)
    port = free_port()
    emulator = create_server("127.0.0.1", port, in_memory=True)
    emulator.start()
    return pg, url, emulator, f"http://127.0.0.1:{port}"


def cluster_cpu(pg: Any) -> float:
    """CPU seconds used so far by the embedded cluster: its live processes and those reaped."""
    import psutil

    postmaster = psutil.Process(int((pg.data_dir / "postmaster.pid").read_text().split()[0]))
    times = postmaster.cpu_times()
    total = times.user + times.system + times.children_user + times.children_system
    for child in postmaster.children():
        try:
            child_times = child.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += child_times.user + child_times.system
    return total


def _count_lines(path: Path) -> int:
    if not path.exists():
        return 0
    with path.open("rb") as spans:
        return sum(1 for _ in spans)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--gzip", action="store_true")
    parser.add_argument("--trace", type=float, default=None, metavar="RATIO")
    args = parser.parse_args()
    os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.mkdtemp(prefix="xdg-"))
    os.environ.setdefault("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/unset")
    from infra.stack import LOCAL_MODEL_THREADS

    os.environ.setdefault("MODEL_THREADS", LOCAL_MODEL_THREADS)  # as `make run` gives it

    data = build_file(args.lines, args.gzip)
    name = "bench/reviews.jsonl" + (".gz" if args.gzip else "")
    with tempfile.TemporaryDirectory(prefix="bench-upload-") as tmp:
        pg, url, emulator, host = start_stack(Path(tmp))
        try:
            os.environ["STORAGE_EMULATOR_HOST"] = host
            from shared import storage

            client = storage.get_client()
            began = time.perf_counter()
            blob = client.create_bucket("uploads").blob(name, chunk_size=8 << 20)
            blob.upload_from_file(io.BytesIO(data), size=len(data))
            blob.reload()
            uploaded = time.perf_counter()
            env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(REPO)}
            if args.batch_size:
                env["UPLOAD_BATCH_SIZE"] = str(args.batch_size)
            if args.trace is not None:
                env["TRACE_EXPORTER"] = "file"
                env["TRACE_FILE"] = str(Path(tmp) / "traces.jsonl")
                env["TRACE_SAMPLE_RATIO"] = str(args.trace)
            db_cpu = cluster_cpu(pg)
            child = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    CHILD,
                    "uploads",
                    name,
                    str(blob.generation),
                    str(blob.size),
                ],
                env=env,
                cwd=REPO,
                capture_output=True,
                text=True,
                check=False,
            )
            finished = time.perf_counter()
            db_cpu = cluster_cpu(pg) - db_cpu
            spans = _count_lines(Path(tmp) / "traces.jsonl") if args.trace is not None else None
            if child.returncode != 0:
                sys.exit(f"handler failed:\n{child.stderr[-4000:]}")
            result = json.loads(child.stdout.strip().splitlines()[-1])
        finally:
            emulator.stop()
            pg.stop("immediate")

    total = finished - began
    tracing = "off" if args.trace is None else f"on at {args.trace} ({spans} spans written)"
    print(
        f"file: {args.lines} lines, {len(data) / 1e6:.1f} MB{' gzip' if args.gzip else ''}, "
        f"batch size {args.batch_size or 'default'}, tracing {tracing}, "
        f"MODEL_THREADS={os.environ['MODEL_THREADS']}"
    )
    print(
        f"result: {result['status']} lines={result['lines']} inserted={result['inserted']} "
        f"rejected={result['rejected']} duplicates={result['duplicates']} "
        f"model={result['model_version']}"
    )
    print(
        f"upload to bucket: {uploaded - began:.1f} s; model load: {result['load_seconds']:.1f} s;"
        f" ingest: {result['ingest_seconds']:.1f} s"
    )
    print(
        f"throughput end to end: {args.lines / total:,.0f} lines/s "
        f"(ingest only: {args.lines / result['ingest_seconds']:,.0f} lines/s)"
    )
    print(
        f"handler peak RSS: {result['peak_rss_mb']:.0f} MB; handler CPU: "
        f"{result['cpu_seconds']:.1f} s ({args.lines / result['cpu_seconds']:,.0f} lines per "
        f"CPU-second); load average at the end: {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} CPUs"
    )
    print(
        f"CPU per 1,000 lines: handler {1000 * result['cpu_seconds'] / args.lines:.3f} s, "
        f"PostgreSQL {1000 * db_cpu / args.lines:.3f} s (CPU time: steady under load)"
    )


if __name__ == "__main__":
    main()
