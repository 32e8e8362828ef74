"""The per-movie aggregates equal their recomputation after any sequence of review writes."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.pool import NullPool

from shared import db
from tests.support.ratings import (
    LABELS,
    add_movie,
    add_reviews,
    aggregate,
    drift,
    insert_reviews,
    review,
)

KST = timezone(timedelta(hours=9))
# around UTC midnight and in KST, so the daily table's UTC bucketing is exercised
MOMENTS = [
    datetime(2024, 3, 1, 23, 59, 59, tzinfo=UTC),
    datetime(2024, 3, 2, 0, 0, tzinfo=UTC),
    datetime(2024, 3, 2, 8, 30, tzinfo=KST),
    datetime(2024, 2, 29, 12, 0, tzinfo=UTC),
]

reviews_st: st.SearchStrategy[dict[str, Any]] = st.builds(
    dict,
    movie=st.integers(0, 9),
    label=st.sampled_from(LABELS),
    positivity=st.floats(0, 1),
    rating=st.floats(1, 10),
    created_at=st.sampled_from([None, *MOMENTS]),
)
changes_st = st.fixed_dictionaries(
    {},
    optional={
        "label": st.sampled_from(LABELS),
        "positivity": st.floats(0, 1),
        "rating": st.floats(1, 10),
        "created_at": st.sampled_from(MOMENTS),
        "movie": st.integers(0, 9),
    },
)
ops_st = st.lists(
    st.one_of(
        st.tuples(st.just("movie")),
        st.tuples(st.just("add"), st.lists(reviews_st, min_size=1, max_size=4)),
        st.tuples(st.just("edit"), st.integers(0, 99), changes_st),
        st.tuples(st.just("bulk_edit"), st.integers(0, 9)),
        st.tuples(st.just("delete"), st.integers(0, 99)),
        st.tuples(st.just("delete_movie"), st.integers(0, 9)),
        st.tuples(st.just("upsert"), st.integers(0, 99), st.floats(1, 10)),
    ),
    min_size=1,
    max_size=25,
)


class World:
    """The movies and reviews that exist, so operations can pick real ids."""

    def __init__(self) -> None:
        self.movies: list[int] = []

    def reviews(self, conn: sa.Connection) -> list[int]:
        return list(conn.execute(sa.text("SELECT id FROM reviews ORDER BY id")).scalars())

    def apply(self, op: tuple[Any, ...], conn: sa.Connection) -> None:
        kind = op[0]
        if kind == "movie":
            self.movies.append(
                conn.execute(
                    sa.text("INSERT INTO movies (title) VALUES ('m') RETURNING id")
                ).scalar_one()
            )
        elif not self.movies:
            return
        elif kind == "add":  # one statement, possibly across movies (as an upload batch)
            insert_reviews(
                conn,
                [
                    {**row, "movie_id": self.movies[row["movie"] % len(self.movies)]}
                    for row in op[1]
                ],
            )
        elif kind == "bulk_edit":
            conn.execute(
                sa.text(
                    "UPDATE reviews SET rating = 11 - rating, positivity ="
                    " 1 - positivity WHERE movie_id = :m"
                ),
                {"m": self.movies[op[1] % len(self.movies)]},
            )
        elif kind == "upsert":  # the upload / Idempotency-Key path: keyed, exactly-once
            self._upsert(op, conn)
        elif kind == "delete_movie":
            movie = self.movies.pop(op[1] % len(self.movies))
            conn.execute(sa.text("DELETE FROM movies WHERE id = :m"), {"m": movie})
        else:
            self._edit_or_delete(op, conn)

    def _upsert(self, op: tuple[Any, ...], conn: sa.Connection) -> None:
        line, rating = op[1] % 5 + 1, op[2]
        action = "NOTHING" if op[1] % 2 else "UPDATE SET rating = excluded.rating"
        conn.execute(
            sa.text(
                "INSERT INTO reviews (movie_id, author, content, label, positivity, confidence,"
                " rating, model_version, upload_id, upload_line) VALUES (:m, 'u', 'c',"
                f" 'neutral', 0.5, 0.5, :r, 'v', 1, :line) ON CONFLICT (upload_id, upload_line)"
                f" WHERE upload_id IS NOT NULL DO {action}"
            ),
            {"m": self.movies[op[1] % len(self.movies)], "r": rating, "line": line},
        )

    def _edit_or_delete(self, op: tuple[Any, ...], conn: sa.Connection) -> None:
        ids = self.reviews(conn)
        if not ids:
            return
        target = ids[op[1] % len(ids)]
        if op[0] == "delete":
            conn.execute(sa.text("DELETE FROM reviews WHERE id = :id"), {"id": target})
            return
        changes = dict(op[2])
        if "movie" in changes:
            changes["movie_id"] = self.movies[changes.pop("movie") % len(self.movies)]
        if not changes:
            return
        sets = ", ".join(f"{name} = :{name}" for name in changes)
        conn.execute(
            sa.text(f"UPDATE reviews SET {sets} WHERE id = :id"), {**changes, "id": target}
        )


def _reset() -> None:
    with db.transaction() as conn:
        conn.execute(sa.text("TRUNCATE movies, reviews, movie_ratings, movie_rating_daily"))


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(ops=ops_st, grouped=st.booleans())
def test_random_writes_keep_every_aggregate_exact(
    database: str, ops: list[tuple[Any, ...]], grouped: bool
) -> None:
    _reset()  # the database fixture runs once per test function, not per example
    world = World()
    world.movies = [add_movie("a"), add_movie("b")]
    if grouped:  # every write of the example in one transaction
        with db.transaction() as conn:
            for op in ops:
                world.apply(op, conn)
    else:
        for op in ops:
            with db.transaction() as conn:
                world.apply(op, conn)
    report = drift()
    assert report.clean, (report.ratings, report.daily)


def test_deleting_a_movie_with_reviews_removes_its_aggregates(database: str) -> None:
    movie, other = add_movie("a"), add_movie("b")
    add_reviews(review(movie), review(movie, "negative", 0.1, 2.0), review(other))
    with db.transaction() as conn:
        conn.execute(sa.text("DELETE FROM movies WHERE id = :id"), {"id": movie})
        daily = conn.execute(
            sa.text("SELECT count(*) FROM movie_rating_daily WHERE movie_id = :id"), {"id": movie}
        ).scalar_one()
    assert aggregate(movie) == {} and daily == 0
    assert aggregate(other)["review_count"] == 1
    assert drift().clean


def test_deleting_and_moving_reviews_across_days_and_movies(database: str) -> None:
    movie, other = add_movie("a"), add_movie("b")
    first, second = add_reviews(
        review(movie, created_at=MOMENTS[0]), review(movie, created_at=MOMENTS[1])
    )
    with db.transaction() as conn:
        conn.execute(
            sa.text("UPDATE reviews SET created_at = :c, movie_id = :m WHERE id = :id"),
            {"c": MOMENTS[3], "m": other, "id": first},
        )
        conn.execute(sa.text("DELETE FROM reviews WHERE id = :id"), {"id": second})
    assert aggregate(movie)["review_count"] == 0
    assert aggregate(other)["review_count"] == 1
    assert drift().clean


def test_truncating_reviews_empties_the_aggregates(database: str) -> None:
    movie = add_movie()
    add_reviews(review(movie), review(movie, created_at=MOMENTS[0]))
    with db.transaction() as conn:
        conn.exec_driver_sql("TRUNCATE reviews")
    assert aggregate(movie)["review_count"] == 0
    assert drift().clean


def _writers_engine(url: str) -> sa.Engine:
    return sa.create_engine(
        sa.make_url(url).set(drivername="postgresql+pg8000"), poolclass=NullPool
    )


def _run_concurrently(count: int, work: Callable[[int], object]) -> list[BaseException]:
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            work(index)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


@pytest.mark.timeout(120)
def test_fifty_concurrent_writers_on_one_movie_lose_nothing(database: str) -> None:
    movie = add_movie()
    engine = _writers_engine(database)

    def write(index: int) -> None:
        with engine.begin() as conn:  # its own connection and transaction
            insert_reviews(conn, [review(movie, LABELS[index % 3], index / 49, 1 + index % 10)])
            conn.execute(sa.text("SELECT pg_sleep(0.01)"))  # hold the transaction open

    errors = _run_concurrently(50, write)
    engine.dispose()
    assert not errors
    row = aggregate(movie)
    assert row["review_count"] == 50
    assert (row["positive_count"], row["neutral_count"], row["negative_count"]) == (17, 17, 16)
    assert sum(row["rating_histogram"]) == 50
    assert drift().clean


@pytest.mark.timeout(120)
def test_concurrent_mixed_writes_across_movies_neither_deadlock_nor_drift(database: str) -> None:
    a, b = add_movie("a"), add_movie("b")
    seeded = add_reviews(*[review(a if i % 2 else b, rating=5.0) for i in range(20)])
    engine = _writers_engine(database)

    def write(index: int) -> None:
        with engine.begin() as conn:
            if index < 20 and index % 2:
                conn.execute(sa.text("DELETE FROM reviews WHERE id = :id"), {"id": seeded[index]})
            elif index < 20:
                conn.execute(
                    sa.text("UPDATE reviews SET label = 'negative', rating = 2 WHERE id = :id"),
                    {"id": seeded[index]},
                )
            else:  # both movies in one statement, in either order
                first, second = (a, b) if index % 2 else (b, a)
                insert_reviews(conn, [review(first), review(second)])

    errors = _run_concurrently(50, write)
    engine.dispose()
    assert not errors
    assert aggregate(a)["review_count"] + aggregate(b)["review_count"] == 20 - 10 + 60
    assert drift().clean


# --- the aggregates move at commit (migration 0012) -----------------------------------------


def _pending(conn: sa.Connection) -> int:
    return int(conn.execute(sa.text("SELECT count(*) FROM pending_review_deltas")).scalar_one())


def test_a_write_moves_the_aggregates_when_it_commits(database: str) -> None:
    movie = add_movie()
    with db.transaction() as conn:
        insert_reviews(conn, [review(movie), review(movie, "negative", 0.1, 2.0)])
        inside = conn.execute(
            sa.text("SELECT review_count FROM movie_ratings WHERE movie_id = :m"), {"m": movie}
        ).scalar_one()
        assert (inside, _pending(conn)) == (0, 1)  # queued by the statement, not applied
    assert aggregate(movie)["review_count"] == 2
    with db.read() as conn:
        assert _pending(conn) == 0  # nothing outlives its transaction
    assert drift().clean


@pytest.mark.timeout(60)
def test_a_writer_of_a_movie_does_not_wait_for_another_writer_to_commit(database: str) -> None:
    movie = add_movie()
    engine = _writers_engine(database)
    with engine.connect() as first:
        first.begin()
        insert_reviews(first, [review(movie)])  # open: its aggregate row is not locked yet
        with engine.begin() as second:
            # before 0012 the INSERT's trigger waited here for `first` to commit
            second.exec_driver_sql("SET LOCAL lock_timeout = '2s'")
            insert_reviews(second, [review(movie, "negative", 0.2, 3.0)])
        assert aggregate(movie)["review_count"] == 1
        first.commit()
    engine.dispose()
    row = aggregate(movie)
    assert (row["review_count"], row["positive_count"], row["negative_count"]) == (2, 1, 1)
    assert drift().clean


def test_a_rolled_back_savepoint_takes_its_deltas_with_it(database: str) -> None:
    movie = add_movie()
    with db.transaction() as conn:
        insert_reviews(conn, [review(movie)])
        savepoint = conn.begin_nested()
        insert_reviews(conn, [review(movie), review(movie)])
        savepoint.rollback()
        insert_reviews(conn, [review(movie, "negative", 0.1, 2.0)])
    row = aggregate(movie)
    assert (row["review_count"], row["negative_count"]) == (2, 1)
    assert drift().clean


def test_truncate_drops_the_deltas_its_transaction_queued(database: str) -> None:
    movie = add_movie()
    add_reviews(review(movie))
    with db.transaction() as conn:
        insert_reviews(conn, [review(movie), review(movie)])
        conn.exec_driver_sql("TRUNCATE reviews")
        insert_reviews(conn, [review(movie, "negative", 0.1, 2.0)])
    row = aggregate(movie)
    assert (row["review_count"], row["positive_count"], row["negative_count"]) == (1, 0, 1)
    assert drift().clean
