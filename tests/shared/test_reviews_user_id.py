"""Migration 0009: reviews.user_id (the writer's uid) and the index of "my reviews"."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from shared import db, reviews
from shared.reviews import NewReview
from tests.support.ratings import add_movie

MY_REVIEWS = """
SELECT id FROM reviews WHERE user_id = :uid ORDER BY created_at DESC, id DESC LIMIT 20
"""


@dataclass(frozen=True)
class Score:
    label: str = "positive"
    positivity: float = 0.9
    confidence: float = 0.8
    rating: float = 9.0
    model_version: str = "test"


def _insert(*rows: NewReview) -> list[int]:
    with db.transaction() as conn:
        return [review.id for review in reviews.insert(conn, rows)]


def _user_ids(ids: list[int]) -> list[str | None]:
    with db.transaction() as conn:
        found = conn.execute(
            sa.text("SELECT user_id FROM reviews WHERE id = ANY(:ids) ORDER BY id"), {"ids": ids}
        )
        return [row[0] for row in found]


def test_the_writer_is_stored_and_key_writes_have_none(database: str) -> None:
    movie = add_movie()
    ids = _insert(
        NewReview(movie, "관객", "좋아요", Score(), user_id="uid-member-1"),
        NewReview(movie, "스크립트", "좋아요", Score()),  # an API key's review
    )
    assert _user_ids(ids) == ["uid-member-1", None]


@pytest.mark.parametrize("uid", ["", "u" * 129])
def test_a_uid_is_1_to_128_characters(database: str, uid: str) -> None:
    with pytest.raises(sa.exc.DBAPIError, match="reviews_user_id_check"):
        _insert(NewReview(add_movie(), "관객", "좋아요", Score(), user_id=uid))


def test_my_reviews_newest_first_come_from_the_index(database: str) -> None:
    movie = add_movie()
    mine = [
        _insert(NewReview(movie, "관객", f"리뷰 {i}", Score(), user_id="me"))[0] for i in range(3)
    ]
    _insert(NewReview(movie, "다른 관객", "남의 리뷰", Score(), user_id="someone-else"))
    with db.transaction() as conn:
        assert [row[0] for row in conn.execute(sa.text(MY_REVIEWS), {"uid": "me"})] == mine[::-1]
        conn.execute(sa.text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(
            row[0] for row in conn.execute(sa.text(f"EXPLAIN {MY_REVIEWS}"), {"uid": "me"})
        )
    assert "Scan Backward using reviews_user_idx" in plan
    assert "Sort" not in plan  # the index gives the order
