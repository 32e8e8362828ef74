"""Movie shapes: create, update (partial), public, and the list query."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field

from shared.schemas.common import (
    Cursor,
    HttpUrlText,
    Limit,
    RequestModel,
    ResponseModel,
    Strip,
    multi_line,
    single_line,
    unset,
)

Title = Annotated[str, single_line(200), Strip]
Name = Annotated[str, single_line(200), Strip]
Genre = Annotated[str, single_line(50), Strip]
Synopsis = Annotated[str, multi_line(5000), Strip]
Year = Annotated[int, Field(ge=1, le=9999)]
MovieSort = Literal["created_at", "-created_at", "title", "-title", "release_date", "-release_date"]


class MovieCreate(RequestModel):
    title: Title
    release_date: date | None = None
    director: Name | None = None
    genre: Genre | None = None
    poster_url: HttpUrlText | None = None
    synopsis: Synopsis | None = None


class MovieUpdate(RequestModel):
    """Partial update: only the fields sent change; null clears an optional field.

    The title can change but not be cleared: it is absent from the request or a title.
    """

    title: Title = unset()
    release_date: date | None = None
    director: Name | None = None
    genre: Genre | None = None
    poster_url: HttpUrlText | None = None
    synopsis: Synopsis | None = None

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
    q: Annotated[str, single_line(200), Strip] | None = Field(
        default=None, description="case-insensitive substring of the title"
    )
    director: Name | None = None
    genre: Genre | None = None
    year: Year | None = Field(default=None, description="release year")
    sort: MovieSort = "-created_at"
