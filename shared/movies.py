"""Movie storage: every statement runs in one transaction from shared.db."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from shared import db, pagination
from shared.errors import NotFound
from shared.schemas.movies import Movie, MovieCreate, MovieListQuery, MoviePage, MovieUpdate

COLUMNS = "id, title, release_date, director, genre, poster_url, synopsis, created_at, updated_at"
# sort name -> (SQL expression matching an index, its SQL type)
SORT_KEYS = {
    "created_at": ("created_at", "timestamptz"),
    "title": ("title", "text"),
    "release_date": ("coalesce(release_date, '-infinity'::date)", "date"),
}


def _not_found(movie_id: int) -> NotFound:
    return NotFound(f"movie {movie_id} does not exist")


def create(data: MovieCreate) -> Movie:
    fields = data.model_dump()
    names = ", ".join(fields)
    values = ", ".join(f":{name}" for name in fields)
    with db.transaction() as conn:
        row = (
            conn.execute(
                sa.text(f"INSERT INTO movies ({names}) VALUES ({values}) RETURNING {COLUMNS}"),  # noqa: S608
                fields,
            )
            .mappings()
            .one()
        )
    return Movie.model_validate(row)


def get(movie_id: int) -> Movie:
    with db.read() as conn:
        row = (
            conn.execute(sa.text(f"SELECT {COLUMNS} FROM movies WHERE id = :id"), {"id": movie_id})  # noqa: S608
            .mappings()
            .one_or_none()
        )
    if row is None:
        raise _not_found(movie_id)
    return Movie.model_validate(row)


def update(movie_id: int, data: MovieUpdate) -> Movie:
    changes = data.changes()
    if not changes:
        return get(movie_id)
    assignments = ", ".join(f"{name} = :{name}" for name in changes)
    with db.transaction() as conn:
        row = (
            conn.execute(
                sa.text(f"UPDATE movies SET {assignments} WHERE id = :id RETURNING {COLUMNS}"),  # noqa: S608
                {**changes, "id": movie_id},
            )
            .mappings()
            .one_or_none()
        )
    if row is None:
        raise _not_found(movie_id)
    return Movie.model_validate(row)


def delete(movie_id: int) -> None:
    """Delete a movie; its reviews and aggregates go with it (ON DELETE CASCADE)."""
    with db.transaction() as conn:
        deleted = conn.execute(
            sa.text("DELETE FROM movies WHERE id = :id"), {"id": movie_id}
        ).rowcount
    if not deleted:
        raise _not_found(movie_id)


# Those of :movie_ids that exist, key-share locked (not deletable) until the transaction
# ends, in id order (concurrent writers lock in the same order). Also the first step of the
# API's review insert (shared/reviews.py), which saves a round trip with it.
LOCK_EXISTING = (
    "SELECT id FROM movies WHERE id = ANY(CAST(:movie_ids AS bigint[])) ORDER BY id FOR KEY SHARE"
)
_LOCK_EXISTING = sa.text(LOCK_EXISTING)


def lock_existing(conn: sa.Connection, ids: set[int]) -> set[int]:
    """Those of `ids` that exist, key-share locked (not deletable) until the transaction ends."""
    if not ids:
        return set()
    rows = conn.execute(_LOCK_EXISTING, {"movie_ids": movie_ids(ids)})
    return {int(row[0]) for row in rows}


def movie_ids(ids: Iterable[int]) -> str:
    """LOCK_EXISTING's :movie_ids parameter."""
    return db.number_array(sorted(set(ids)))


def _filters(query: MovieListQuery) -> tuple[list[str], dict[str, Any]]:
    where: list[str] = []
    params: dict[str, Any] = {}
    if query.q:
        escaped = query.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append("title ILIKE :q ESCAPE '\\'")
        params["q"] = f"%{escaped}%"
    if query.director:
        where.append("lower(director) = lower(:director)")
        params["director"] = query.director
    if query.genre:
        where.append("lower(genre) = lower(:genre)")
        params["genre"] = query.genre
    if query.year:
        where.append(
            "release_date >= make_date(:year, 1, 1) AND release_date < make_date(:year + 1, 1, 1)"
        )
        params["year"] = query.year
    return where, params


def list_movies_listing(query: MovieListQuery) -> pagination.Listing:
    key, key_type = SORT_KEYS[query.sort.lstrip("-")]
    where, params = _filters(query)
    return pagination.Listing(
        name="movies",
        columns=COLUMNS,
        source="movies",
        order=pagination.Keyset(key, key_type, descending=query.sort.startswith("-")),
        where=where,
        params=params,
    )


def list_movies(query: MovieListQuery) -> MoviePage:
    """A keyset page: (sort key, id) strictly after the cursor, in the requested order."""
    rows, next_cursor = pagination.fetch_page(
        list_movies_listing(query), limit=query.limit, cursor=query.cursor
    )
    return MoviePage(items=[Movie.model_validate(row) for row in rows], next_cursor=next_cursor)
