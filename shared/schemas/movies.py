"""Movie shapes: create, update (partial), public, and the list query."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field, field_validator

from shared.schemas.common import (
    Cursor,
    HttpUrlText,
    Limit,
    MultiLine,
    RequestModel,
    ResponseModel,
    SingleLine,
    bounded,
)

Title = Annotated[str, bounded(200), SingleLine]
Name = Annotated[str, bounded(200), SingleLine]
Genre = Annotated[str, bounded(50), SingleLine]
Synopsis = Annotated[str, bounded(5000), MultiLine]
ReleaseDate = Annotated[date, Field(ge=date(1870, 1, 1), le=date(2100, 12, 31))]
MovieSort = Literal["created_at", "-created_at", "title", "-title", "release_date", "-release_date"]


class MovieCreate(RequestModel):
    title: Title
    release_date: ReleaseDate | None = None
    director: Name | None = None
    genre: Genre | None = None
    poster_url: HttpUrlText | None = None
    synopsis: Synopsis | None = None


class MovieUpdate(RequestModel):
    """Partial update: only the fields sent change; null clears an optional field."""

    title: Title | None = None
    release_date: ReleaseDate | None = None
    director: Name | None = None
    genre: Genre | None = None
    poster_url: HttpUrlText | None = None
    synopsis: Synopsis | None = None

    @field_validator("title")
    @classmethod
    def _title_not_null(cls, value: str | None) -> str:
        if value is None:
            raise ValueError("title cannot be null")
        return value

    def changes(self) -> dict[str, object]:
        return self.model_dump(exclude_unset=True)


class Movie(ResponseModel):
    id: int
    title: str
    release_date: date | None
    director: str | None
    genre: str | None
    poster_url: str | None
    synopsis: str | None
    created_at: datetime
    updated_at: datetime


class MoviePage(ResponseModel):
    items: list[Movie]
    next_cursor: str | None


class MovieListQuery(RequestModel):
    limit: Limit = 20
    cursor: Cursor | None = None
    q: Annotated[str, bounded(200), SingleLine] | None = Field(
        default=None, description="case-insensitive substring of the title"
    )
    director: Name | None = None
    genre: Genre | None = None
    year: Annotated[int, Field(ge=1870, le=2100)] | None = None
    sort: MovieSort = "-created_at"
