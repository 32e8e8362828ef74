"""Movie storage: every statement runs in one transaction from shared.db."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from shared import db, pagination
from shared.errors import NotFound
from shared.schemas.movies import Movie, MovieCreate, MovieListQuery, MoviePage, MovieUpdate

COLUMNS = "id, title, release_date, director, genre, poster_url, synopsis, created_at, updated_at"
# sort name -> (SQL expression matching an index, cast for the cursor's text key)
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
                sa.text(f"INSERT INTO movies ({names}) VALUES ({values}) RETURNING {COLUMNS}"),
                fields,
            )
            .mappings()
            .one()
        )
    return Movie.model_validate(row)


def get(movie_id: int) -> Movie:
    with db.transaction() as conn:
        row = (
            conn.execute(sa.text(f"SELECT {COLUMNS} FROM movies WHERE id = :id"), {"id": movie_id})
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
                sa.text(f"UPDATE movies SET {assignments} WHERE id = :id RETURNING {COLUMNS}"),
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


def exists(conn: sa.Connection, movie_id: int, *, lock: bool = False) -> bool:
    suffix = " FOR KEY SHARE" if lock else ""
    query = sa.text(f"SELECT 1 FROM movies WHERE id = :id{suffix}")
    return conn.execute(query, {"id": movie_id}).first() is not None


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


def list_movies(query: MovieListQuery) -> MoviePage:
    """A keyset page: (sort key, id) strictly after the cursor, in the requested order."""
    descending = query.sort.startswith("-")
    key_sql, key_type = SORT_KEYS[query.sort.lstrip("-")]
    listing = pagination.fingerprint(**query.model_dump(exclude={"limit", "cursor"}))
    where, params = _filters(query)
    if query.cursor:
        position = pagination.decode(query.cursor, listing)
        op = "<" if descending else ">"
        where.append(f"({key_sql}, id) {op} (CAST(:key AS {key_type}), :after_id)")
        params.update(key=position.key, after_id=position.id)
    order = "DESC" if descending else "ASC"
    sql = (
        f"SELECT {COLUMNS}, ({key_sql})::text AS sort_key FROM movies"
        f"{' WHERE ' + ' AND '.join(where) if where else ''}"
        f" ORDER BY {key_sql} {order}, id {order} LIMIT :limit"
    )
    with db.transaction() as conn:
        rows = conn.execute(sa.text(sql), {**params, "limit": query.limit + 1}).mappings().all()
    items = [Movie.model_validate(row) for row in rows[: query.limit]]
    next_cursor = None
    if len(rows) > query.limit:
        last = rows[query.limit - 1]
        next_cursor = pagination.encode(pagination.Position(last["sort_key"], last["id"]), listing)
    return MoviePage(items=items, next_cursor=next_cursor)
