"""Review shapes: create, batch, update, public, list query, sentiment preview, upload line."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, field_validator

from shared.schemas.common import (
    Cursor,
    Limit,
    RequestModel,
    ResponseModel,
    StoredTimestamp,
    Strip,
    json_integer,
    multi_line,
    single_line,
    unset,
)

MovieId = Annotated[int, Field(ge=1, le=2**63 - 1), BeforeValidator(json_integer)]
AUTHOR_MAX = 50
Author = Annotated[str, single_line(AUTHOR_MAX), Strip]
Content = Annotated[str, multi_line(2000), Strip]
ExternalId = Annotated[str, single_line(200), Strip]
Label = Literal["positive", "neutral", "negative"]
# a published model version: a folder name under gs://<models>/sentiment/
ModelVersion = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._-]+$")]
MAX_BATCH = 100


# who may send `author` depends on the credential, which no schema can say per request
AUTHOR_RULE = (
    "with X-API-Key: required; with a signed-in user's token: must be absent (the author is "
    "the account's display name)"
)
AUTHOR_CHANGE = "only with X-API-Key (an account's reviews carry its display name)"


class ReviewCreate(RequestModel):
    movie_id: MovieId
    author: Author = unset(AUTHOR_RULE)
    content: Content


class ReviewBatch(RequestModel):
    items: Annotated[list[ReviewCreate], Field(min_length=1, max_length=MAX_BATCH)]


class ReviewUpdate(RequestModel):
    """Partial update; a content change is rescored. The movie of a review never changes.

    Author and content can change but not be cleared: each is absent or a text.
    """

    author: Author = unset(AUTHOR_CHANGE)
    content: Content = unset()


class UploadLine(RequestModel):
    """One line of an uploaded JSONL/CSV file."""

    movie_id: MovieId
    author: Author
    content: Content
    external_id: ExternalId | None = None
    created_at: StoredTimestamp | None = None

    @field_validator("created_at")
    @classmethod
    def _past(cls, value: datetime | None) -> datetime | None:
        if value is not None and value > datetime.now(UTC):
            raise ValueError("created_at is in the future")
        return value


class SentimentOut(ResponseModel):
    label: Label
    positivity: float
    confidence: float
    rating: float
    model_version: str


class Review(ResponseModel):
    id: int
    movie_id: int
    author: str
    content: str
    sentiment: SentimentOut
    user_id: str | None = Field(
        default=None,
        description="the writer's account (uid); null for reviews written with an API key "
        "or uploaded",
    )
    external_id: str | None = None
    created_at: datetime
    updated_at: datetime


class ReviewPage(ResponseModel):
    items: list[Review]
    next_cursor: str | None


class ReviewList(ResponseModel):
    items: list[Review]


class ReviewListQuery(RequestModel):
    movie_id: MovieId | None = None
    label: Label | None = None
    author: Author | None = None
    model_version: ModelVersion | None = Field(
        default=None,
        description="only reviews scored by this model version (during a rollout: the old "
        "version's reviews still waiting for the rescoring job)",
    )
    mine: bool = Field(
        default=False,
        description="only the signed-in caller's own reviews (needs a user's token: 401 "
        "without one, 400 with an API key)",
    )
    limit: Limit = 20
    cursor: Cursor | None = None


class SentimentRequest(RequestModel):
    """A public preview: one text."""

    text: Content


class SentimentBatch(RequestModel):
    """Scoring many texts at once (needs an API key)."""

    texts: Annotated[list[Content], Field(min_length=1, max_length=MAX_BATCH)]


class SentimentList(ResponseModel):
    items: list[SentimentOut]
