"""The restore drill: point-in-time recovery of the embedded PostgreSQL, proven on our data.

    python -m infra.restore drill [--reviews N] [--upload-lines N] [--keep DIR]
    python -m infra.restore fingerprint     row count and md5 of each table the drill compares,
                                            of the configured database (a Cloud SQL clone:
                                            INSTANCE_CONNECTION_NAME, DB_IAM_USER, DB_NAME)

What Cloud SQL does for `gcloud sql instances clone --point-in-time` (docs/deploy.md,
"Restore"), done locally with PostgreSQL's own tools (the pgserver wheel's binaries):

1. a source cluster archives its WAL (archive_mode, archive_command); the schema is migrated
   and N reviews seeded;
2. while reviews are written and deleted through the app's own write path and an upload is
   processed by the real handler, `pg_basebackup` takes a base backup (checked by
   `pg_verifybackup`);
3. the target: with writers held off for a moment (SHARE locks), row counts and checksums
   of every table the point must restore are captured, and the time is the target; a marker
   row is committed right after it, and writes go on;
4. the backup is copied to a new data directory that recovers from the archive to
   `recovery_target_time` (recovery.signal) and is promoted, on another port;
5. the checks run against it: every captured count and checksum equal, the marker absent,
   and `python -m infra.aggregates verify` (the stack's own check) clean.

It prints one line ending `restore drill: ok` (or exits 1 naming what differs).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from infra.localpg import EmbeddedPostgres, free_port, hand_over

REPO = Path(__file__).resolve().parents[1]
MOVIES = 30
# every table whose rows the restored point must hold exactly, with its ordering key
TABLES = {
    "movies": "id",
    "reviews": "id",
    "movie_ratings": "movie_id",
    "movie_rating_daily": "movie_id, day",
    "upload_objects": "bucket, object, generation",
}
MARKER = "restore drill: written after the target"
PHRASES = (
    "정말 재미있어요",
    "지루하고 뻔한 전개",
    "배우들 연기가 최고",
    "그냥 그랬다",
    "다시 보고 싶다",
)


class DrillFailed(Exception):
    """The restored database is not what was committed at the target."""


@dataclass
class Drill:
    """One run's places and findings."""

    root: Path
    reviews: int
    upload_lines: int
    source: EmbeddedPostgres = field(init=False)
    archive: Path = field(init=False)
    timings: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.archive = hand_over(self._folder("archive"))
        self.source = EmbeddedPostgres(self._folder("source"), free_port())

    def _folder(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.timings[name] = time.perf_counter() - started


def engine(url: str) -> sa.Engine:
    from shared.db import build_engine
    from shared.settings import Settings

    return build_engine(Settings(database_url=url, db_statement_timeout_ms=600_000))


def start_source(drill: Drill) -> str:
    """The source cluster with WAL archiving, migrated; returns its database URL."""
    from infra.migrate import upgrade_database

    drill.source.configure(
        wal_level="replica",
        archive_mode="on",
        archive_command=f"test ! -f {drill.archive}/%f && cp %p {drill.archive}/%f",
    )
    drill.source.start()
    url = drill.source.create_database("app")
    upgrade_database(url)
    return url


def seed(url: str, reviews: int) -> None:
    """MOVIES movies and `reviews` reviews (synthetic scores), in two statements."""
    from shared.db import text_array

    db = engine(url)
    with db.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO movies (title) SELECT '영화 ' || i FROM generate_series(1, :n) i"),
            {"n": MOVIES},
        )
        conn.execute(
            sa.text("""
            INSERT INTO reviews (movie_id, author, content, label, positivity, confidence,
                                 rating, model_version, created_at)
            SELECT 1 + mod(i, :movies), 'user' || mod(i, 997),
                   p.phrases[1 + mod(i, cardinality(p.phrases))] || ' #' || i,
                   (ARRAY['negative', 'neutral', 'positive'])[1 + mod(i, 3)], mod(i, 11) / 10.0,
                   0.5, 1 + mod(i, 10), 'seed', now() - make_interval(days => mod(i, 400))
            FROM generate_series(1, :n) i, (SELECT CAST(:phrases AS text[]) AS phrases) p
            """),
            {"movies": MOVIES, "n": reviews, "phrases": text_array(PHRASES)},
        )
    with db.begin() as conn:
        conn.execute(sa.text("ANALYZE"))
    db.dispose()


# --- the workload during the backup ----------------------------------------------------------


@dataclass
class Workload:
    """Reviews written and deleted through shared.reviews, and one upload through the real
    handler, each in its own thread, until stopped."""

    stopping: threading.Event = field(default_factory=threading.Event)
    errors: list[BaseException] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)
    writes: int = 0

    def start(self, *targets: Callable[[], None]) -> None:
        for target in targets:
            thread = threading.Thread(target=self._guarded(target), daemon=True)
            thread.start()
            self.threads.append(thread)

    def _guarded(self, target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except BaseException as error:  # reported by stop()
                self.errors.append(error)

        return run

    def write_reviews(self) -> None:
        import shared.reviews
        from shared.identity.principal import Principal
        from shared.schemas.reviews import ReviewCreate

        writer = Principal.service(0)  # the drill writes as a service client would
        while not self.stopping.is_set():
            text = f"{PHRASES[self.writes % len(PHRASES)]} (쓰기 {self.writes})"
            body = ReviewCreate(movie_id=1 + self.writes % MOVIES, author="drill", content=text)
            (review,) = shared.reviews.create([body], writer)
            if self.writes % 5 == 4:
                shared.reviews.delete(review.id, writer)
            self.writes += 1
            time.sleep(0.005)

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=300)
        if self.errors:
            raise DrillFailed(f"the workload failed: {self.errors[0]!r}") from self.errors[0]


def upload(lines: int) -> Callable[[], None]:
    """Put a JSONL upload of `lines` reviews in the uploads bucket; returns its delivery."""
    import json

    from infra.eventarc import finalized_event
    from shared import storage
    from shared.settings import get_settings
    from shared.uploads.handler import handle_event

    client = storage.get_client()
    bucket = client.lookup_bucket(get_settings().uploads_bucket) or client.create_bucket(
        get_settings().uploads_bucket
    )
    rows = (
        {"movie_id": 1 + i % MOVIES, "author": f"upload{i % 50}", "content": PHRASES[i % 5]}
        for i in range(lines)
    )
    blob = bucket.blob("drill/during-backup.jsonl")
    blob.upload_from_string("\n".join(json.dumps(r, ensure_ascii=False) for r in rows))
    blob.reload()
    resource = {
        "bucket": bucket.name,
        "name": blob.name,
        "generation": blob.generation,
        "size": blob.size,
        "contentType": blob.content_type,
    }
    return lambda: handle_event(finalized_event(resource))


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise DrillFailed(f"timed out waiting for {what}")
        time.sleep(0.05)


def upload_progress(db: sa.Engine) -> int:
    with db.connect() as conn:
        lines = conn.execute(
            sa.text("SELECT coalesce(max(checkpoint_line), 0) FROM upload_objects")
        )
        return int(lines.scalar_one())


# --- the target and the proof ------------------------------------------------------------------


def fingerprint(conn: sa.Connection) -> dict[str, tuple[int, str]]:
    """Row count and md5 of every row, in key order, of each table in TABLES."""
    found = {}
    for table, key in TABLES.items():
        row = conn.execute(
            sa.text(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY {key}), ''))"  # noqa: S608
                f" FROM {table} t"
            )
        ).one()
        found[table] = (int(row[0]), str(row[1]))
    return found


def mark_target(db: sa.Engine) -> tuple[str, dict[str, tuple[int, str]]]:
    """Hold writers off, capture what is committed, take the time: the recovery target."""
    with db.begin() as conn:
        conn.execute(sa.text(f"LOCK TABLE {', '.join(TABLES)} IN SHARE MODE"))
        captured = fingerprint(conn)
        point = str(conn.execute(sa.text("SELECT clock_timestamp()::text")).scalar_one())
    with db.begin() as conn:  # the first commit past the target: must not come back
        conn.execute(sa.text("INSERT INTO movies (title) VALUES (:t)"), {"t": MARKER})
    return point, captured


def archive_everything(db: sa.Engine, archive: Path) -> None:
    """Close the current WAL segment and wait until the archive holds it."""
    with db.connect() as conn:
        segment = conn.execute(sa.text("SELECT pg_walfile_name(pg_switch_wal())")).scalar_one()
    wait_for((archive / segment).exists, 120, f"WAL segment {segment} archived")


def restore(drill: Drill, backup: Path, point: str) -> EmbeddedPostgres:
    """A new cluster from `backup`, recovered from the archive to `point` and promoted."""
    restored = EmbeddedPostgres(drill._folder("restored"), free_port())
    shutil.copytree(backup, restored.data_dir)
    restored.data_dir.chmod(0o700)
    hand_over(restored.data_dir)
    restored.configure(
        archive_mode="off",
        restore_command=f"cp {drill.archive}/%f %p",
        recovery_target_time=point,
        recovery_target_action="promote",
    )
    hand_over(restored.data_dir / "postgresql.conf")
    (restored.data_dir / "recovery.signal").touch()
    hand_over(restored.data_dir / "recovery.signal")
    restored.start()
    wait_for(lambda: _promoted(restored), 600, "the restored cluster to finish recovery")
    return restored


def _promoted(server: EmbeddedPostgres) -> bool:
    import pg8000.native

    conn = pg8000.native.Connection("postgres", host="127.0.0.1", port=server.port)
    try:
        return not conn.run("SELECT pg_is_in_recovery()")[0][0]
    finally:
        conn.close()


def check(url: str, captured: dict[str, tuple[int, str]]) -> None:
    """The restored database equals the target, and the stack's own check passes on it."""
    db = engine(url)
    try:
        with db.connect() as conn:
            found = fingerprint(conn)
            marker = conn.execute(
                sa.text("SELECT count(*) FROM movies WHERE title = :t"), {"t": MARKER}
            )
            after_target = marker.scalar_one()
    finally:
        db.dispose()
    differing = [t for t in TABLES if found[t] != captured[t]]
    if differing:
        raise DrillFailed(f"differs from the target: {', '.join(differing)}")
    if after_target:
        raise DrillFailed("a row committed after the target came back")
    verify = subprocess.run(
        [sys.executable, "-m", "infra.aggregates", "verify"],
        env={**os.environ, "DATABASE_URL": url},
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if verify.returncode != 0:
        raise DrillFailed(f"infra.aggregates verify on the restored database:\n{verify.stdout}")


def size_mb(server: EmbeddedPostgres) -> float:
    import pg8000.native

    conn = pg8000.native.Connection("postgres", host="127.0.0.1", port=server.port)
    try:
        return float(conn.run("SELECT pg_database_size('app')")[0][0]) / 2**20
    finally:
        conn.close()


@contextmanager
def storage_emulator() -> Iterator[None]:
    """A GCS emulator in this process for the upload (unless one is configured)."""
    if os.environ.get("STORAGE_EMULATOR_HOST"):
        yield
        return
    from gcp_storage_emulator.server import create_server

    port = free_port()
    server = create_server("127.0.0.1", port, in_memory=True)
    server.start()
    os.environ["STORAGE_EMULATOR_HOST"] = f"http://127.0.0.1:{port}"
    try:
        yield
    finally:
        server.stop()


@dataclass(frozen=True)
class Result:
    """What a drill restored and proved, and what it cost."""

    point: str
    reviews: int
    movies: int
    upload_lines: int
    upload_at_backup: int  # the upload's committed line when the base backup started
    upload_at_target: int
    writes: int  # reviews written through the app while backup and target were taken
    size_mb: float
    seconds: dict[str, float]

    def line(self) -> str:
        s = self.seconds
        return (
            f"restored to {self.point} (recovery_target_time): {self.reviews:,} reviews, "
            f"{self.movies} movies, aggregates and upload ledger equal to what was committed "
            f"(count + md5 of {len(TABLES)} tables), aggregates verify clean; backup taken "
            f"with the upload at line {self.upload_at_backup:,} of {self.upload_lines:,} "
            f"({self.upload_at_target:,} at the target) and {self.writes} writes through the "
            f"app; database {self.size_mb:.1f} MB; seed {s['seed']:.1f} s, base backup "
            f"{s['backup']:.1f} s, restore {s['restore']:.1f} s, checks {s['checks']:.1f} s, "
            f"total {s['total']:.1f} s; restore drill: ok"
        )


def run_drill(drill: Drill) -> Result:
    """The whole drill (module doc)."""
    started = time.perf_counter()
    url = start_source(drill)
    os.environ["DATABASE_URL"] = url  # the app's write path and the upload handler use it
    os.environ.setdefault("MODEL_URI", str(REPO / _default_model()))
    _fresh_instance()  # settings and pools read anywhere before now are for another database
    with drill.timed("seed"):
        seed(url, drill.reviews)
    db = engine(url)
    workload = Workload()
    backup = drill.root / "backup"
    try:
        workload.start(workload.write_reviews, upload(drill.upload_lines))
        wait_for(lambda: upload_progress(db) > 0, 300, "the upload's first batch")
        at_backup = upload_progress(db)
        with drill.timed("backup"):
            drill.source.base_backup(backup)
        point, captured = mark_target(db)
        at_target = upload_progress(db)
        time.sleep(0.2)  # more writes past the target
    finally:
        workload.stop()
    archive_everything(db, drill.archive)
    db.dispose()
    with drill.timed("restore"):
        restored = restore(drill, backup, point)
    try:
        with drill.timed("checks"):
            check(restored.url("app"), captured)
        size = size_mb(restored)
    finally:
        restored.stop()
        drill.source.stop()
    drill.timings["total"] = time.perf_counter() - started
    return Result(
        point=point,
        reviews=captured["reviews"][0],
        movies=captured["movies"][0],
        upload_lines=drill.upload_lines,
        upload_at_backup=at_backup,
        upload_at_target=at_target,
        writes=workload.writes,
        size_mb=size,
        seconds=dict(drill.timings),
    )


def _fresh_instance() -> None:
    from shared import lazy
    from shared.settings import get_settings

    get_settings.cache_clear()
    lazy.reset_all()


def _default_model() -> str:
    from shared.settings import Settings

    return str(Settings.model_fields["model_uri"].default)


def print_fingerprint() -> int:
    """The configured database's fingerprint, one JSON line per table."""
    import json

    from shared.db import build_engine
    from shared.settings import Need, Settings

    settings = Settings().require(Need.DATABASE, process="infra.restore fingerprint")
    db = build_engine(settings)
    try:
        with db.connect() as conn:
            conn.execute(sa.text("SET statement_timeout = 0"))
            for table, (rows, md5) in fingerprint(conn).items():
                print(json.dumps({"table": table, "rows": rows, "md5": md5}))
    finally:
        db.dispose()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.restore", description=__doc__)
    sub = parser.add_subparsers(dest="action", required=True)
    drill = sub.add_parser("drill", help="back up, restore to a point in time, prove it")
    drill.add_argument("--reviews", type=int, default=2_000, help="reviews seeded first")
    drill.add_argument("--upload-lines", type=int, default=3_000)
    drill.add_argument("--keep", type=Path, help="work here and keep it (default: a temp dir)")
    sub.add_parser("fingerprint", help="row counts and checksums of the configured database")
    args = parser.parse_args(argv)
    if args.action == "fingerprint":
        return print_fingerprint()
    root = args.keep or Path(tempfile.mkdtemp(prefix="restore-drill-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        with storage_emulator():
            result = run_drill(Drill(hand_over(root), args.reviews, args.upload_lines))
        print(result.line(), flush=True)
    except DrillFailed as error:
        print(f"restore drill: FAILED: {error}", file=sys.stderr)
        return 1
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
