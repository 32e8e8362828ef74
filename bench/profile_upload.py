"""Where an upload's time goes, in figures that do not depend on the machine's load.

    .venv/bin/python bench/profile_upload.py [--lines 100000] [--constant-score]
        [--py-spy OUT.svg] [--shared-buffers 128MB]

Runs the upload handler (as bench_upload.py does: embedded durable PostgreSQL with its
default settings, the GCS emulator, a child process) and prints, per tenth of the file:
CPU seconds per 1,000 lines of the handler and of PostgreSQL (every process of the cluster,
psutil; CPU time, not wall), WAL bytes and full-page images per line (pg_stat_wal). At the
end: the reviews indexes (size, blocks read vs hit: pg_statio_user_indexes), checkpoints,
and EXPLAIN (ANALYZE, BUFFERS, WAL) of one more 512-row batch insert on the final table
(rolled back): what the insert, its index maintenance and the aggregate trigger cost once
the table is that big. A flat per-line cost shows the same figures in the first and the
last tenth.

`--constant-score` replaces the model by a constant score (the model's cost per line is
the same at any file size): it isolates the write path, and 1M lines take minutes, not
tens of minutes. `--py-spy` records the handler's on-CPU samples (all threads) as a flame
graph.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_upload

REPO = bench_upload.REPO

CHILD = r"""
import json, resource, sys
from shared.uploads import handler
from shared.uploads.event import UploadObject
score = None
if sys.argv[5] == "constant":
    from dataclasses import dataclass
    @dataclass(frozen=True)
    class Constant:
        label: str = "positive"
        positivity: float = 0.75
        confidence: float = 0.5
        rating: float = 7.5
        model_version: str = "constant"
    one = Constant()
    score = lambda texts: [one] * len(texts)
else:
    from shared.sentiment import get_scorer
    get_scorer()
obj = UploadObject(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
progress = handler.process(obj, score, budget=float('inf'))  # no time budget, as a job
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"status": progress.status, "lines": progress.lines,
                  "inserted": progress.inserted, "cpu": usage.ru_utime + usage.ru_stime,
                  "peak_rss_mb": int(next(l for l in open("/proc/self/status")
                                          if l.startswith("VmHWM")).split()[1]) / 1024}))
"""

WAL = "SELECT wal_records, wal_fpi, wal_bytes FROM pg_stat_wal"
CHECKPOINT = "SELECT coalesce(max(checkpoint_line), 0) FROM upload_objects"
INDEXES = """
SELECT s.indexrelname, pg_relation_size(s.indexrelid), io.idx_blks_read, io.idx_blks_hit
FROM pg_stat_user_indexes s JOIN pg_statio_user_indexes io USING (indexrelid)
WHERE s.relname IN ('reviews', 'upload_objects', 'movie_ratings', 'movie_rating_daily')
ORDER BY s.relname, pg_relation_size(s.indexrelid) DESC
"""
TABLES = """
SELECT relname, pg_relation_size(relid), n_tup_ins, n_tup_upd, n_tup_hot_upd, n_dead_tup,
       autovacuum_count
FROM pg_stat_user_tables
WHERE relname IN ('reviews', 'upload_objects', 'movie_ratings', 'movie_rating_daily')
"""


class Sampler:
    """Every `period` s: the committed line, handler CPU, cluster CPU, WAL counters."""

    def __init__(self, url: str, pg: Any, period: float = 1.0) -> None:
        import pg8000.native
        import sqlalchemy as sa

        parts = sa.make_url(url)
        self.conn = pg8000.native.Connection(
            parts.username or "postgres", host=parts.host, port=parts.port, database=parts.database
        )
        self.pg = pg
        self.period = period
        self.samples: list[tuple[int, float, float, int, int, int]] = []
        self.handler: psutil.Process | None = None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        # the sampler's own backend is in the cluster's CPU too: a few ms a second
        line = int(self.conn.run(CHECKPOINT)[0][0])
        records, fpi, wal_bytes = self.conn.run(WAL)[0]
        handler = 0.0
        if self.handler is not None:
            try:
                times = self.handler.cpu_times()
                handler = times.user + times.system
            except psutil.NoSuchProcess:
                handler = self.samples[-1][1] if self.samples else 0.0
        self.samples.append(
            (
                line,
                handler,
                bench_upload.cluster_cpu(self.pg),
                int(records),
                int(fpi),
                int(wal_bytes),
            )
        )

    def _run(self) -> None:
        while not self.stop.wait(self.period):
            self.sample()


def tenths(samples: list[tuple[int, float, float, int, int, int]], lines: int) -> None:
    print(
        f"{'lines':>17} {'handler CPU s/1k':>17} {'PG CPU s/1k':>12} {'WAL B/line':>11}"
        f" {'FPI/1k lines':>13}"
    )
    step = lines // 10
    for k in range(10):
        lo, hi = k * step, (k + 1) * step
        first = next((s for s in samples if s[0] >= lo), None)
        last = next((s for s in samples if s[0] >= hi), samples[-1])
        if first is None or last[0] <= first[0]:
            continue
        n = last[0] - first[0]
        print(
            f"{first[0]:>8}-{last[0]:<8} {1000 * (last[1] - first[1]) / n:>17.3f}"
            f" {1000 * (last[2] - first[2]) / n:>12.3f} {(last[5] - first[5]) / n:>11.0f}"
            f" {1000 * (last[4] - first[4]) / n:>13.1f}"
        )


def explain_batch(url: str) -> None:
    """EXPLAIN (ANALYZE, BUFFERS, WAL) of one more 512-line batch, as the pipeline commits
    it, on the table as the run left it; rolled back."""
    import sqlalchemy as sa

    from shared import db, reviews
    from shared.reviews import NewReview
    from shared.settings import Settings

    engine = db.build_engine(Settings(database_url=url))

    class Score:
        label, positivity, confidence, rating, model_version = "neutral", 0.5, 0.5, 5.0, "x"

    generation = int(time.time() * 1e6)
    narrow = "upload_id" in NewReview.__dataclass_fields__  # the key of migration 0011
    rows = [
        NewReview(
            1 + i % bench_upload.MOVIES,
            f"user{i % 997}",
            "설명 분석용 리뷰",
            Score(),
            f"gs://uploads/explain.jsonl#{generation}:{i + 1}",
            f"explain-{i}",
            None,
            **({"upload_id": 1, "upload_line": 10**9 + i} if narrow else {}),  # type: ignore[arg-type]
        )
        for i in range(512)
    ]
    statement, params = reviews.explainable_insert(rows)
    with engine.connect() as conn:
        trans = conn.begin()
        plan = conn.execute(
            sa.text("EXPLAIN (ANALYZE, BUFFERS, WAL, COSTS OFF) " + statement.text), params
        )
        print("\nEXPLAIN (ANALYZE, BUFFERS, WAL) of one 512-row batch insert on the final table:")
        for (line,) in plan:
            print("  " + line)
        trans.rollback()
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--constant-score", action="store_true")
    parser.add_argument(
        "--py-spy",
        default=None,
        help="the handler's samples: a flame graph (.svg) or stacks (.txt)",
    )
    parser.add_argument("--shared-buffers", default=None, help="e.g. 128MB (initdb's default)")
    args = parser.parse_args()
    os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.mkdtemp(prefix="xdg-"))
    os.environ.setdefault("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/unset")
    data = bench_upload.build_file(args.lines, False)
    with tempfile.TemporaryDirectory(prefix="profile-upload-") as tmp:
        pg, url, emulator, host = bench_upload.start_stack(Path(tmp), args.shared_buffers)
        try:
            os.environ["STORAGE_EMULATOR_HOST"] = host
            from shared import storage

            blob = storage.get_client().create_bucket("uploads").blob("p/r.jsonl")
            blob.upload_from_file(io.BytesIO(data), size=len(data))
            blob.reload()
            sampler = Sampler(url, pg)
            sampler.conn.run("SELECT pg_stat_reset_shared('wal')")
            sampler.conn.run("SELECT pg_stat_reset_shared('bgwriter')")
            sampler.conn.run("SELECT pg_stat_reset()")
            env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(REPO)}
            score = "constant" if args.constant_score else "model"
            argv = [sys.executable, "-c", CHILD, "uploads", blob.name, str(blob.generation)]
            argv += [str(blob.size), score]
            if args.py_spy:
                spy = [str(Path(sys.executable).parent / "py-spy"), "record", "-o", args.py_spy]
                spy += ["--format", "raw"] if args.py_spy.endswith(".txt") else []
                argv = [*spy, "--rate", "50", "--threads", "--", *argv]
            sampler.sample()
            began = time.perf_counter()
            child = subprocess.Popen(argv, env=env, cwd=REPO, stdout=subprocess.PIPE, text=True)
            sampler.handler = psutil.Process(child.pid)
            sampler.thread.start()
            out, _ = child.communicate()
            wall = time.perf_counter() - began
            sampler.stop.set()
            sampler.thread.join()
            time.sleep(2)  # the handler's backends reaped: their CPU counts as the cluster's
            sampler.sample()
            if child.returncode != 0:
                tenths(sampler.samples, args.lines)
                sys.exit(f"handler failed ({child.returncode})")
            # the handler's JSON line; py-spy, when it wraps the handler, writes after it
            result = json.loads(next(ln for ln in reversed(out.splitlines()) if ln.startswith("{")))
            print(
                f"{args.lines} lines, score={score}: {result['status']}, inserted"
                f" {result['inserted']}; handler CPU {result['cpu']:.1f} s"
                f" ({1000 * result['cpu'] / args.lines:.3f} s/1k lines), peak RSS"
                f" {result['peak_rss_mb']:.0f} MB; PostgreSQL CPU"
                f" {sampler.samples[-1][2] - sampler.samples[0][2]:.1f} s; wall {wall:.0f} s"
                f" (load average {os.getloadavg()[0]:.1f}: wall means little)"
            )
            tenths(sampler.samples, args.lines)
            conn = sampler.conn
            records, fpi, wal_bytes = conn.run(WAL)[0]
            print(
                f"\nWAL: {wal_bytes / args.lines:.0f} bytes/line, {records / args.lines:.1f}"
                f" records/line, {fpi} full-page images ({1000 * fpi / args.lines:.1f}/1k lines)"
            )
            print(
                "checkpoints (timed, requested):",
                conn.run(
                    "SELECT checkpoints_timed, checkpoints_req, buffers_checkpoint, buffers_backend"
                    " FROM pg_stat_bgwriter"
                )[0],
            )
            print("shared_buffers:", conn.run("SHOW shared_buffers")[0][0])
            print(f"\n{'index':<36}{'MB':>8}{'blks read':>11}{'blks hit':>12}")
            for name, size, read, hit in conn.run(INDEXES):
                print(f"{name:<36}{size / 2**20:>8.1f}{read or 0:>11}{hit or 0:>12}")
            print(
                f"\n{'table':<20}{'MB':>8}{'ins':>9}{'upd':>9}{'hot upd':>9}{'dead':>8}"
                f"{'autovac':>8}"
            )
            for name, size, ins, upd, hot, dead, vac in conn.run(TABLES):
                print(f"{name:<20}{size / 2**20:>8.1f}{ins:>9}{upd:>9}{hot:>9}{dead:>8}{vac:>8}")
            conn.close()
            explain_batch(url)
        finally:
            emulator.stop()
            pg.stop("immediate")


if __name__ == "__main__":
    main()
