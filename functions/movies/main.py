"""Movies function: HTTP entry point only; the logic lives in shared.movies."""

from __future__ import annotations

import flask
import functions_framework

from shared import movies as store
from shared.http import Api, Call, Reply
from shared.schemas.movies import Movie, MovieCreate, MovieListQuery, MoviePage, MovieUpdate

api = Api("movies", "Movies: create, list, read, update and delete.", prefix="/movies")


@api.route(
    "/movies",
    "POST",
    summary="Create a movie",
    body=MovieCreate,
    response=Movie,
    status=201,
    auth=True,
)
def create_movie(call: Call) -> Reply:
    movie = store.create(call.body)
    return Reply(201, movie, {"Location": f"/movies/{movie.id}"})


@api.route("/movies", "GET", summary="List movies", query=MovieListQuery, response=MoviePage)
def list_movies(call: Call) -> MoviePage:
    return store.list_movies(call.query)


@api.route("/movies/<id:movie_id>", "GET", summary="Get a movie", response=Movie)
def get_movie(call: Call) -> Movie:
    return store.get(call.path["movie_id"])


@api.route(
    "/movies/<id:movie_id>",
    "PATCH",
    summary="Update some fields of a movie",
    body=MovieUpdate,
    response=Movie,
    auth=True,
)
def update_movie(call: Call) -> Movie:
    return store.update(call.path["movie_id"], call.body)


@api.route(
    "/movies/<id:movie_id>",
    "DELETE",
    summary="Delete a movie and its reviews",
    status=204,
    auth=True,
)
def delete_movie(call: Call) -> None:
    store.delete(call.path["movie_id"])


@functions_framework.http
def movies(request: flask.Request) -> flask.Response:
    return api(request)
