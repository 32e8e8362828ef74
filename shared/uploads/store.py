"""Bulk review writes: one statement per batch, idempotent on each line's source key."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

import sqlalchemy as sa

from shared.uploads.event import UploadObject
from shared.uploads.lines import Valid


class Scored(Protocol):
    """What a sentiment result must offer (shared.sentiment.Sentiment has these fields)."""

    @property
    def label(self) -> str: ...
    @property
    def positivity(self) -> float: ...
    @property
    def confidence(self) -> float: ...
    @property
    def rating(self) -> float: ...
    @property
    def model_version(self) -> str: ...


# ON CONFLICT without a target skips both a seen source key (redelivery, resume) and a
# (movie_id, external_id) already stored (the same file uploaded again). The statement-level
# insert trigger then updates the aggregates for exactly the rows inserted.
_INSERT = sa.text("""
INSERT INTO reviews (movie_id, author, content, label, positivity, confidence, rating,
                     model_version, source_key, external_id, created_at)
SELECT u.movie_id, u.author, u.content, u.label, u.positivity, u.confidence, u.rating,
       u.model_version, u.source_key, u.external_id, coalesce(u.created_at, clock_timestamp())
FROM unnest(CAST(:movie_id AS bigint[]), CAST(:author AS text[]), CAST(:content AS text[]),
            CAST(:label AS text[]), CAST(:positivity AS float8[]),
            CAST(:confidence AS float8[]), CAST(:rating AS float8[]),
            CAST(:model_version AS text[]), CAST(:source_key AS text[]),
            CAST(:external_id AS text[]), CAST(:created_at AS timestamptz[]))
     AS u(movie_id, author, content, label, positivity, confidence, rating, model_version,
          source_key, external_id, created_at)
ON CONFLICT DO NOTHING
""")


def lock_movies(conn: sa.Connection, ids: set[int]) -> set[int]:
    """Those of `ids` that exist, key-share locked (not deletable) until the transaction ends."""
    if not ids:
        return set()
    rows = conn.execute(
        sa.text(
            "SELECT id FROM movies WHERE id = ANY(CAST(:ids AS bigint[])) ORDER BY id FOR KEY SHARE"
        ),
        {"ids": number_array(sorted(ids))},
    )
    return {int(row[0]) for row in rows}


def insert_reviews(
    conn: sa.Connection, obj: UploadObject, lines: Sequence[Valid], scores: Sequence[Scored]
) -> int:
    """Insert the batch; return how many rows were new (the rest were duplicates)."""
    if not lines:
        return 0
    if len(lines) != len(scores):
        raise RuntimeError(f"scorer returned {len(scores)} results for {len(lines)} texts")
    items = [line.item for line in lines]
    created = [item.created_at.isoformat() if item.created_at else None for item in items]
    params = {
        "movie_id": number_array(item.movie_id for item in items),
        "author": text_array(item.author for item in items),
        "content": text_array(item.content for item in items),
        "label": text_array(score.label for score in scores),
        "positivity": number_array(float(score.positivity) for score in scores),
        "confidence": number_array(float(score.confidence) for score in scores),
        "rating": number_array(float(score.rating) for score in scores),
        "model_version": text_array(score.model_version for score in scores),
        "source_key": text_array(obj.source_key(line.line) for line in lines),
        "external_id": text_array(item.external_id for item in items),
        "created_at": text_array(created),
    }
    return int(conn.execute(_INSERT, params).rowcount)


# Arrays go over the wire as PostgreSQL array literals built here: the driver's own
# per-character array escaping cost more than scoring and inserting put together.
def text_array(values: Iterable[str | None]) -> str:
    return "{" + ",".join("NULL" if value is None else _quoted(value) for value in values) + "}"


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def number_array(values: Iterable[float | int]) -> str:
    return "{" + ",".join(repr(value) for value in values) + "}"
