"""Review storage and scoring: every write is one transaction that also moves the aggregates
(the triggers of migration 0002 see every insert, update and delete)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from shared import db, idempotency, pagination
from shared.errors import NotFound
from shared.schemas.reviews import (
    Review,
    ReviewCreate,
    ReviewListQuery,
    ReviewPage,
    ReviewUpdate,
    SentimentOut,
)
from shared.sentiment import Sentiment, get_scorer

COLUMNS = (
    "id, movie_id, author, content, label, positivity, confidence, rating, model_version,"
    " external_id, created_at, updated_at"
)
SENTIMENT_FIELDS = ("label", "positivity", "confidence", "rating", "model_version")
FOREIGN_KEY_VIOLATION = "23503"

INSERT = sa.text(f"""
    INSERT INTO reviews (movie_id, author, content, label, positivity, confidence, rating,
                         model_version, source_key)
    SELECT * FROM unnest(CAST(:movie_id AS bigint[]), CAST(:author AS text[]),
                         CAST(:content AS text[]), CAST(:label AS text[]),
                         CAST(:positivity AS float8[]), CAST(:confidence AS float8[]),
                         CAST(:rating AS float8[]), CAST(:model_version AS text[]),
                         CAST(:source_key AS text[]))
    RETURNING {COLUMNS}
""")


def to_review(row: Any) -> Review:
    data = dict(row)
    sentiment = SentimentOut(**{name: data.pop(name) for name in SENTIMENT_FIELDS})
    return Review(sentiment=sentiment, **data)


def score(texts: Sequence[str]) -> list[Sentiment]:
    """Score with the instance's model; ModelUnavailable (503) if it cannot be loaded."""
    return get_scorer().score(list(texts))


def _missing_movies(movie_ids: set[int]) -> NotFound:
    """The 404 for a write whose foreign key failed, naming every missing movie."""
    with db.transaction() as conn:
        found = set(
            conn.execute(
                sa.text("SELECT id FROM movies WHERE id = ANY(CAST(:ids AS bigint[]))"),
                {"ids": sorted(movie_ids)},
            ).scalars()
        )
    missing = sorted(movie_ids - found) or sorted(movie_ids)
    return NotFound(
        f"movie {', '.join(map(str, missing))} does not exist",
        errors=[
            {"field": "movie_id", "message": f"movie {m} does not exist", "type": "not_found"}
            for m in missing
        ],
    )


def insert_scored(
    conn: sa.Connection,
    items: Sequence[ReviewCreate],
    sentiments: Sequence[Sentiment],
    source_keys: Sequence[str | None],
) -> list[Review]:
    """One INSERT for many reviews; rows come back in the order given."""
    params: dict[str, list[Any]] = {
        "movie_id": [item.movie_id for item in items],
        "author": [item.author for item in items],
        "content": [item.content for item in items],
        "source_key": list(source_keys),
    }
    for name in SENTIMENT_FIELDS:
        params[name] = [getattr(s, name) for s in sentiments]
    rows = conn.execute(INSERT, params).mappings().all()
    return [to_review(row) for row in sorted(rows, key=lambda row: row["id"])]


def replay(key: str | None, digest: str | None) -> idempotency.Stored | None:
    """A cheap look-up before scoring, so retries never pay for the model."""
    if key is None or digest is None:
        return None
    with db.transaction() as conn:
        return idempotency.claim(conn, key, digest)


def create(
    items: Sequence[ReviewCreate], key: str | None = None, digest: str | None = None
) -> tuple[list[Review] | None, idempotency.Stored | None]:
    """Score then store; with an Idempotency-Key, (None, stored) means a replay."""
    stored = replay(key, digest)
    if stored is not None:
        return None, stored
    sentiments = score([item.content for item in items])
    source_keys = [f"idem:{key}#{i}" for i in range(len(items))] if key else [None] * len(items)
    try:
        with db.transaction() as conn:
            if key is not None and digest is not None:
                stored = idempotency.claim(conn, key, digest)
                if stored is not None:
                    return None, stored
            reviews = insert_scored(conn, items, sentiments, source_keys)
            if key is not None and digest is not None:
                idempotency.remember(conn, key, digest, 201, _response_body(reviews, len(items)))
    except sa.exc.DBAPIError as error:  # pg8000 reports every server error the same way
        if db.sqlstate(error) == FOREIGN_KEY_VIOLATION:  # the movie is missing (or just went)
            raise _missing_movies({item.movie_id for item in items}) from None
        raise
    return reviews, None


def _response_body(reviews: list[Review], count: int) -> Any:
    dumped = [review.model_dump(mode="json") for review in reviews]
    return dumped[0] if count == 1 and len(dumped) == 1 else {"items": dumped}


def get(review_id: int) -> Review:
    with db.transaction() as conn:
        row = (
            conn.execute(
                sa.text(f"SELECT {COLUMNS} FROM reviews WHERE id = :id"), {"id": review_id}
            )
            .mappings()
            .one_or_none()
        )
    if row is None:
        raise NotFound(f"review {review_id} does not exist")
    return to_review(row)


def update(review_id: int, data: ReviewUpdate) -> Review:
    """Change author and/or content; new content is rescored before the transaction."""
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    current = get(review_id)
    changes = {k: v for k, v in changes.items() if getattr(current, k) != v}
    if "content" in changes:
        changes.update(_sentiment_columns(score([changes["content"]])[0]))
    if not changes:
        return current
    assignments = ", ".join(f"{name} = :{name}" for name in changes)
    with db.transaction() as conn:
        row = (
            conn.execute(
                sa.text(f"UPDATE reviews SET {assignments} WHERE id = :id RETURNING {COLUMNS}"),
                {**changes, "id": review_id},
            )
            .mappings()
            .one_or_none()
        )
    if row is None:
        raise NotFound(f"review {review_id} does not exist")
    return to_review(row)


def _sentiment_columns(sentiment: Sentiment) -> dict[str, Any]:
    return {name: getattr(sentiment, name) for name in SENTIMENT_FIELDS}


def delete(review_id: int) -> None:
    with db.transaction() as conn:
        deleted = conn.execute(
            sa.text("DELETE FROM reviews WHERE id = :id"), {"id": review_id}
        ).rowcount
    if not deleted:
        raise NotFound(f"review {review_id} does not exist")


def list_reviews(query: ReviewListQuery) -> ReviewPage:
    """Newest first, keyset-paged on (created_at, id)."""
    filters = query.model_dump(include={"movie_id", "label", "author"}, exclude_none=True)
    listing = pagination.fingerprint(**filters)
    where = [f"{name} = :{name}" for name in filters]
    params: dict[str, Any] = dict(filters)
    if query.cursor:
        position = pagination.decode(query.cursor, listing)
        where.append("(created_at, id) < (CAST(:key AS timestamptz), :after_id)")
        params.update(key=position.key, after_id=position.id)
    sql = (
        f"SELECT {COLUMNS}, created_at::text AS sort_key FROM reviews"
        f"{' WHERE ' + ' AND '.join(where) if where else ''}"
        " ORDER BY created_at DESC, id DESC LIMIT :limit"
    )
    with db.transaction() as conn:
        rows = conn.execute(sa.text(sql), {**params, "limit": query.limit + 1}).mappings().all()
    page = rows[: query.limit]
    items = [to_review({k: v for k, v in row.items() if k != "sort_key"}) for row in page]
    next_cursor = None
    if len(rows) > query.limit:
        last = page[-1]
        next_cursor = pagination.encode(pagination.Position(last["sort_key"], last["id"]), listing)
    return ReviewPage(items=items, next_cursor=next_cursor)
