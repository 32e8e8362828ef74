"""Review shapes: create, batch, update, public, list query, sentiment preview, upload line."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from shared.schemas.common import (
    Cursor,
    Limit,
    MultiLine,
    RequestModel,
    ResponseModel,
    SingleLine,
    bounded,
)

MovieId = Annotated[int, Field(ge=1, le=2**63 - 1)]
Author = Annotated[str, bounded(50), SingleLine]
Content = Annotated[str, bounded(2000), MultiLine]
ExternalId = Annotated[str, bounded(200), SingleLine]
Label = Literal["positive", "neutral", "negative"]
MAX_BATCH = 100


class ReviewCreate(RequestModel):
    movie_id: MovieId
    author: Author
    content: Content


class ReviewBatch(RequestModel):
    items: Annotated[list[ReviewCreate], Field(min_length=1, max_length=MAX_BATCH)]


class ReviewUpdate(RequestModel):
    """Partial update; a content change is rescored. The movie of a review never changes."""

    author: Author | None = None
    content: Content | None = None

    @field_validator("author", "content")
    @classmethod
    def _not_null(cls, value: str | None) -> str:
        if value is None:
            raise ValueError("cannot be null")
        return value


class UploadLine(RequestModel):
    """One line of an uploaded JSONL/CSV file."""

    movie_id: MovieId
    author: Author
    content: Content
    external_id: ExternalId | None = None
    created_at: datetime | None = None

    @field_validator("created_at")
    @classmethod
    def _past_and_utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        if value > datetime.now(UTC):
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
    limit: Limit = 20
    cursor: Cursor | None = None


class SentimentRequest(RequestModel):
    """Preview scoring: exactly one of `text` or `texts`."""

    text: Content | None = None
    texts: Annotated[list[Content], Field(min_length=1, max_length=MAX_BATCH)] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SentimentRequest:
        if (self.text is None) == (self.texts is None):
            raise ValueError("send exactly one of `text` or `texts`")
        return self


class SentimentList(ResponseModel):
    items: list[SentimentOut]
