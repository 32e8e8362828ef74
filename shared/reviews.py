"""Reviews: scoring, storage and listing. Every write is one transaction that also moves the
aggregates (the statement-level triggers of migration 0002 see every insert, update and
delete), and every insert, from HTTP or from an upload, goes through insert().

Who writes decides what is written: an account writes as itself (its uid; its name as the
author, shared/authors.py) and edits or deletes as roles.py allows; a service client (API
key) names the author and may edit any review.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from shared import authors, db, movies, pagination
from shared.errors import Forbidden, NotFound
from shared.identity.principal import Principal
from shared.identity.roles import may_delete_review, may_edit_review
from shared.schemas.reviews import (
    Review,
    ReviewCreate,
    ReviewListQuery,
    ReviewPage,
    ReviewUpdate,
    SentimentOut,
)
from shared.sentiment.scored import Scored

COLUMNS = (
    "id, movie_id, author, user_id, content, label, positivity, confidence, rating,"
    " model_version, external_id, created_at, updated_at"
)
SENTIMENT_FIELDS = ("label", "positivity", "confidence", "rating", "model_version")


@dataclass(frozen=True, slots=True)
class NewReview:
    """A scored review ready to insert.

    An uploaded line is exactly-once by (upload_id, upload_line): its object generation's
    ledger row and its physical line (a narrow key that grows at the right edge of its
    index); source_key spells the same out (gs://bucket/object#generation:line) for people.
    external_id is the uploader's own id, unique per movie; created_at defaults to now;
    user_id is the writer's Identity Platform uid (None: written with an API key, uploaded).
    """

    movie_id: int
    author: str
    content: str
    sentiment: Scored
    source_key: str | None = None
    external_id: str | None = None
    created_at: datetime | None = None
    user_id: str | None = None
    upload_id: int | None = None
    upload_line: int | None = None


# ON CONFLICT without a target skips both an uploaded line already stored (upload_id,
# upload_line: a batch committed twice) and a (movie_id, external_id) already stored (the
# same file uploaded again). The statement-level insert trigger then moves the aggregates for
# exactly the rows inserted.
def _insert_rows(where: str = "") -> str:
    return f"""
INSERT INTO reviews (movie_id, author, content, label, positivity, confidence, rating,
                     model_version, source_key, external_id, created_at, user_id, upload_id,
                     upload_line)
SELECT u.movie_id, u.author, u.content, u.label, u.positivity, u.confidence, u.rating,
       u.model_version, u.source_key, u.external_id, coalesce(u.created_at, clock_timestamp()),
       u.user_id, u.upload_id, u.upload_line
FROM unnest(CAST(:movie_id AS bigint[]), CAST(:author AS text[]), CAST(:content AS text[]),
            CAST(:label AS text[]), CAST(:positivity AS float8[]),
            CAST(:confidence AS float8[]), CAST(:rating AS float8[]),
            CAST(:model_version AS text[]), CAST(:source_key AS text[]),
            CAST(:external_id AS text[]), CAST(:created_at AS timestamptz[]),
            CAST(:user_id AS text[]), CAST(:upload_id AS bigint[]),
            CAST(:upload_line AS bigint[]))
     AS u(movie_id, author, content, label, positivity, confidence, rating, model_version,
          source_key, external_id, created_at, user_id, upload_id, upload_line)
{where}
ON CONFLICT DO NOTHING
"""  # noqa: S608 (`where` is one of this module's constants)


# The API's insert checks its movies in the same statement (one round trip, not two): rows
# whose movie exists, locked as movies.lock_existing() locks it, are inserted; the others
# are left out, and the caller compares what came back with what it asked for.
_INSERT = sa.text(
    f"WITH known AS ({movies.LOCK_EXISTING})"  # noqa: S608 (constants of ours)
    f"{_insert_rows('WHERE u.movie_id IN (SELECT id FROM known)')}RETURNING {COLUMNS}"
)
_INSERT_COUNTED = sa.text(_insert_rows())


def insert(conn: sa.Connection, rows: Sequence[NewReview]) -> list[Review]:
    """Insert many reviews in one statement; return those inserted, in the order given.

    Rows whose movie does not exist, or whose upload line or (movie, external id) is
    already stored, are skipped; the movies of those inserted stay key-share locked until
    the transaction ends.
    """
    if not rows:
        return []
    parameters = {"movie_ids": movies.movie_ids(row.movie_id for row in rows)}
    inserted = conn.execute(_INSERT, parameters | _parameters(rows)).mappings().all()
    # identities are drawn in the order of the unnest rows, so id order is the order given
    return [to_review(row) for row in sorted(inserted, key=lambda row: row["id"])]


def insert_many(conn: sa.Connection, rows: Sequence[NewReview]) -> int:
    """insert() for bulk writers (uploads), which check their movies first
    (movies.lock_existing()) to reject the lines of unknown ones: the insert without the
    check or RETURNING, so no stored row travels back; returns how many were inserted."""
    if not rows:
        return 0
    return int(conn.execute(_INSERT_COUNTED, _parameters(rows)).rowcount)


def _parameters(rows: Sequence[NewReview]) -> dict[str, str]:
    """The insert's columns as array literals, one element per row."""
    scores = [row.sentiment for row in rows]
    return {
        "movie_id": db.number_array(row.movie_id for row in rows),
        "author": db.text_array(row.author for row in rows),
        "content": db.text_array(row.content for row in rows),
        "label": db.text_array(score.label for score in scores),
        "positivity": db.number_array(float(score.positivity) for score in scores),
        "confidence": db.number_array(float(score.confidence) for score in scores),
        "rating": db.number_array(float(score.rating) for score in scores),
        "model_version": db.text_array(score.model_version for score in scores),
        "source_key": db.text_array(row.source_key for row in rows),
        "external_id": db.text_array(row.external_id for row in rows),
        "created_at": db.text_array(
            row.created_at.isoformat() if row.created_at else None for row in rows
        ),
        "user_id": db.text_array(row.user_id for row in rows),
        "upload_id": db.number_array(row.upload_id for row in rows),
        "upload_line": db.number_array(row.upload_line for row in rows),
    }


def explainable_insert(rows: Sequence[NewReview]) -> tuple[sa.TextClause, dict[str, str]]:
    """insert_many's statement and parameters for `rows` (bench/profile_upload.py EXPLAINs
    it)."""
    return _INSERT_COUNTED, _parameters(rows)


def to_review(row: Any) -> Review:
    data = dict(row)
    sentiment = SentimentOut(**{name: data.pop(name) for name in SENTIMENT_FIELDS})
    return Review(sentiment=sentiment, **data)


def score(texts: Sequence[str]) -> list[Scored]:
    """Score with the instance's model; ModelUnavailable (503) if it cannot be loaded."""
    from shared.sentiment import get_scorer  # the model runtime loads with the first score

    return list(get_scorer().score(list(texts)))


def _missing_movies(missing: set[int]) -> NotFound:
    """The 404 for a write naming movies that do not exist, naming each of them."""
    ordered = sorted(missing)
    return NotFound(
        f"movie {', '.join(map(str, ordered))} does not exist",
        errors=[
            {"field": "movie_id", "message": f"movie {m} does not exist", "type": "not_found"}
            for m in ordered
        ],
    )


def create(
    items: Sequence[ReviewCreate], principal: Principal, *, batch: bool = False
) -> list[Review]:
    """Score, then store all or nothing; a missing movie is a 404 naming it. `batch`: the
    items came as a batch's `items` (field names in 422s say which)."""
    fields = [f"items.{i}.author" if batch else "author" for i in range(len(items))]
    names = authors.authors(principal, [item.author for item in items], fields)
    sentiments = score([item.content for item in items])
    rows = [
        NewReview(item.movie_id, author, item.content, sentiment, user_id=principal.uid)
        for item, author, sentiment in zip(items, names, sentiments, strict=True)
    ]
    with db.transaction() as conn:
        stored = insert(conn, rows)
        missing = {item.movie_id for item in items} - {review.movie_id for review in stored}
        if missing:
            raise _missing_movies(missing)  # the transaction rolls back what was inserted
        return stored


def get(review_id: int) -> Review:
    with db.read() as conn:
        row = (
            conn.execute(
                sa.text(f"SELECT {COLUMNS} FROM reviews WHERE id = :id"),  # noqa: S608
                {"id": review_id},
            )
            .mappings()
            .one_or_none()
        )
    if row is None:
        raise NotFound(f"review {review_id} does not exist")
    return to_review(row)


def update(review_id: int, data: ReviewUpdate, principal: Principal) -> Review:
    """Change author and/or content; new content is rescored before the transaction.

    Only whoever roles.py allows may edit (403); an account cannot rename its reviews' author.
    The writer (user_id) is read before the update: it never changes once stored.
    """
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    if "author" in changes:
        authors.check_renaming(principal)
    current = get(review_id)
    if not may_edit_review(principal.role, principal.uid, current.user_id):
        raise Forbidden("only the review's writer may edit it")
    changes = {k: v for k, v in changes.items() if getattr(current, k) != v}
    if "content" in changes:
        changes.update(_sentiment_columns(score([changes["content"]])[0]))
    if not changes:
        return current
    assignments = ", ".join(f"{name} = :{name}" for name in changes)
    with db.transaction() as conn:
        row = (
            conn.execute(
                # column names come from the ReviewUpdate model, values are bound
                sa.text(f"UPDATE reviews SET {assignments} WHERE id = :id RETURNING {COLUMNS}"),  # noqa: S608
                {**changes, "id": review_id},
            )
            .mappings()
            .one_or_none()
        )
    if row is None:
        raise NotFound(f"review {review_id} does not exist")
    return to_review(row)


def _sentiment_columns(sentiment: Scored) -> dict[str, Any]:
    return {name: getattr(sentiment, name) for name in SENTIMENT_FIELDS}


def delete(review_id: int, principal: Principal) -> None:
    """Delete one review, if roles.py lets `principal` (403), in one transaction."""
    with db.transaction() as conn:
        row = conn.execute(
            sa.text("SELECT user_id FROM reviews WHERE id = :id FOR UPDATE"), {"id": review_id}
        ).one_or_none()
        if row is None:
            raise NotFound(f"review {review_id} does not exist")
        if not may_delete_review(principal.role, principal.uid, row.user_id):
            raise Forbidden("only the review's writer or an admin may delete it")
        conn.execute(sa.text("DELETE FROM reviews WHERE id = :id"), {"id": review_id})


def delete_all_of(uid: str) -> int:
    """Delete every review the account `uid` wrote, in one transaction (the aggregates follow
    through the triggers); how many there were. Deleting none is fine: account deletion
    retries it."""
    with db.transaction() as conn:
        deleted: int = conn.execute(
            sa.text("DELETE FROM reviews WHERE user_id = :uid"), {"uid": uid}
        ).rowcount
    return deleted


NEWEST_FIRST = pagination.Keyset("created_at", "timestamptz", descending=True)


def list_reviews(query: ReviewListQuery, writer: str | None = None) -> ReviewPage:
    """Newest first, keyset-paged on (created_at, id); `writer`: only that account's."""
    filters = query.model_dump(
        include={"movie_id", "label", "author", "model_version"}, exclude_none=True
    )
    if writer is not None:
        filters["user_id"] = writer
    rows, next_cursor = pagination.fetch_page(
        pagination.Listing(
            columns=COLUMNS,
            source="reviews",
            where=[f"{name} = :{name}" for name in filters],
            params=filters,
            order=NEWEST_FIRST,
            name="reviews",
        ),
        limit=query.limit,
        cursor=query.cursor,
    )
    return ReviewPage(items=[to_review(row) for row in rows], next_cursor=next_cursor)
