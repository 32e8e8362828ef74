"""Movies function: HTTP entry point only; the logic lives in shared.movies."""

from __future__ import annotations

import flask
import functions_framework

import shared.movies
from shared.http import Api, Reply
from shared.identity import Permission
from shared.schemas.movies import Movie, MovieCreate, MovieListQuery, MoviePage, MovieUpdate
from shared.settings import Need, needs

api = Api("movies", "Movies: create, list, read, update and delete.", prefix="/movies")


@api.post("/movies", summary="Create a movie", status=201, auth=Permission.MOVIES_WRITE)
def create_movie(body: MovieCreate) -> Reply[Movie]:
    movie = shared.movies.create(body)
    return Reply(movie, 201, {"Location": f"/movies/{movie.id}"})


@api.get("/movies", summary="List movies")
def list_movies(query: MovieListQuery) -> MoviePage:
    return shared.movies.list_movies(query)


@api.get("/movies/<id:movie_id>", summary="Get a movie")
def get_movie(movie_id: int) -> Movie:
    return shared.movies.get(movie_id)


@api.patch(
    "/movies/<id:movie_id>", summary="Update some fields of a movie", auth=Permission.MOVIES_WRITE
)
def update_movie(movie_id: int, body: MovieUpdate) -> Movie:
    return shared.movies.update(movie_id, body)


@api.delete(
    "/movies/<id:movie_id>", summary="Delete a movie and its reviews", auth=Permission.MOVIES_WRITE
)
def delete_movie(movie_id: int) -> None:
    shared.movies.delete(movie_id)


@functions_framework.http
@needs(Need.DATABASE, Need.CURSOR_KEY, Need.IDENTITY)  # lists sign cursors; writes verify users
def movies(request: flask.Request) -> flask.Response:
    return api(request)
