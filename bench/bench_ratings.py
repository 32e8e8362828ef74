"""Benchmark the ratings reads: O(1) per-movie aggregate, and the leaderboard over 10k movies.

By default it starts its own embedded PostgreSQL, migrates it, seeds it with fast
`INSERT ... SELECT generate_series` statements and calls the ratings function in-process through
functions-framework's test client:

    .venv/bin/python bench/bench_ratings.py

Against a running local stack (`make run`), seeding that stack's database:

    .venv/bin/python bench/bench_ratings.py --base-url http://127.0.0.1:8080 \
        --database-url postgresql://postgres@127.0.0.1:54329/app

Targets: GET /ratings/{id} with 200k reviews within 1.5x of one with 10 reviews;
leaderboard p50 <= 15 ms with 10k movies.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

REVIEWS_SQL = """
INSERT INTO reviews (movie_id, author, content, label, positivity, confidence, rating,
                     model_version, created_at)
SELECT m, 'bench', 'review ' || i, (ARRAY['positive', 'neutral', 'negative'])[1 + mod(i, 3)],
       mod(i, 101) / 100.0, 0.9, 1 + mod(i * 7 + m, 10), 'bench',
       now() - mod(i, 365) * interval '1 day'
FROM unnest(CAST(:movies AS bigint[])) AS m, generate_series(1, :per_movie) AS i
"""


def _movies(conn: sa.Connection, count: int, prefix: str) -> list[int]:
    rows = conn.execute(
        sa.text(
            "INSERT INTO movies (title, genre, release_date)"
            " SELECT :p || i, (ARRAY['드라마', '액션', '코미디', '공포'])[1 + mod(i, 4)],"
            " make_date(1990 + mod(i, 35), 1 + mod(i, 12), 1)"
            " FROM generate_series(1, :n) AS i RETURNING id"
        ),
        {"p": prefix, "n": count},
    )
    return [int(row[0]) for row in rows]


def _reviews(conn: sa.Connection, movies: list[int], per_movie: int) -> None:
    conn.execute(sa.text(REVIEWS_SQL), {"movies": movies, "per_movie": per_movie})


def seed(engine: sa.Engine, movies: int, big: int) -> tuple[int, int]:
    """One movie with `big` reviews, one with 10, and `movies` in all with 5 reviews each."""
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(sa.text("SET LOCAL statement_timeout = 0"))
        big_id, small_id = _movies(conn, 2, "bench-")
        others = _movies(conn, movies - 2, "bench-board-")
        _reviews(conn, [big_id], big)
        _reviews(conn, [small_id], 10)
        _reviews(conn, others, 5)
    with engine.begin() as conn:
        for table in ("movies", "movie_ratings", "movie_rating_daily", "reviews"):
            conn.execute(sa.text(f"ANALYZE {table}"))
    print(
        f"seeded {movies} movies, {big + 10 + 5 * (movies - 2)} reviews "
        f"in {time.perf_counter() - started:.1f}s"
    )
    return big_id, small_id


Getter = Callable[[str], int]


def in_process_getter() -> Getter:
    from functions_framework import create_app

    client = create_app(
        "ratings", str(REPO / "functions" / "ratings" / "main.py"), "http"
    ).test_client()

    def get(path: str) -> int:
        response = client.get(path)
        response.get_data()
        return int(response.status_code)

    return get


def http_getter(base_url: str) -> Getter:
    import requests

    session = requests.Session()

    def get(path: str) -> int:
        return int(session.get(base_url.rstrip("/") + path, timeout=30).status_code)

    return get


def measure(get: Getter, path: str, runs: int) -> dict[str, float]:
    for _ in range(max(5, runs // 10)):  # warm up: pool, caches, imports
        assert get(path) == 200, path
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        status = get(path)
        samples.append((time.perf_counter() - started) * 1000)
        assert status == 200, path
    samples.sort()
    return {
        "p50": statistics.median(samples),
        "p95": samples[int(len(samples) * 0.95) - 1],
        "max": samples[-1],
    }


@contextmanager
def embedded_database() -> Iterator[str]:
    from infra import migrate
    from infra.localpg import EmbeddedPostgres, free_port

    with tempfile.TemporaryDirectory(prefix="bench-ratings-") as root:
        server = EmbeddedPostgres(Path(root), free_port(), durable=False).start()
        try:
            url = server.create_database("bench")
            migrate.upgrade_database(url)
            yield url
        finally:
            server.stop("immediate")


def use_database(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    from shared import db
    from shared.settings import get_settings

    get_settings.cache_clear()
    db.dispose()


def run(url: str, base_url: str | None, args: argparse.Namespace) -> None:
    engine = sa.create_engine(sa.make_url(url).set(drivername="postgresql+pg8000"))
    big_id, small_id = seed(engine, args.movies, args.big)
    engine.dispose()
    use_database(url)
    get = http_getter(base_url) if base_url else in_process_getter()
    cases: list[tuple[str, str]] = [
        (f"GET /ratings/{{id}} ({args.big} reviews)", f"/ratings/{big_id}"),
        ("GET /ratings/{id} (10 reviews)", f"/ratings/{small_id}"),
    ]
    cases += [
        (f"GET /ratings?order={order} ({args.movies} movies)", f"/ratings?order={order}")
        for order in ("bayesian", "average", "count", "recent")
    ]
    cases.append(("GET /ratings?genre=액션&min_reviews=5", "/ratings?genre=액션&min_reviews=5"))
    results = {label: measure(get, path, args.runs) for label, path in cases}
    report(results, cases, base_url)


def report(
    results: dict[str, dict[str, float]], cases: list[tuple[str, str]], base_url: str | None
) -> None:
    target = base_url or "in-process (functions-framework test client, embedded PostgreSQL)"
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"\ntarget: {target}; {os.cpu_count()} CPUs, load average {load}\n")
    print(f"{'request':<48} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for label, _ in cases:
        row = results[label]
        print(f"{label:<48} {row['p50']:>8.2f} {row['p95']:>8.2f} {row['max']:>8.2f}")
    big, small = (results[label]["p50"] for label, _ in cases[:2])
    board = results[cases[2][0]]["p50"]
    ratio = big / small
    print(f"\nbig/small p50 ratio: {ratio:.2f} (target <= 1.5: {'ok' if ratio <= 1.5 else 'MISS'})")
    print(f"leaderboard p50: {board:.2f} ms (target <= 15 ms: {'ok' if board <= 15 else 'MISS'})")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base-url", help="a running stack, e.g. http://127.0.0.1:8080")
    parser.add_argument(
        "--database-url",
        default="postgresql://postgres@127.0.0.1:54329/app",
        help="the stack's database to seed (with --base-url)",
    )
    parser.add_argument("--movies", type=int, default=10_000)
    parser.add_argument("--big", type=int, default=200_000, help="reviews of the big movie")
    parser.add_argument("--runs", type=int, default=300, help="timed requests per case")
    args = parser.parse_args()
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if args.base_url:
        run(args.database_url, args.base_url, args)
        return
    with embedded_database() as url:
        run(url, None, args)


if __name__ == "__main__":
    main()
