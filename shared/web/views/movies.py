"""Movies: list with search, filters, sort and paging; add, edit, delete; the movie page with
its rating card, reviews and write-review form; the live sentiment preview."""

from __future__ import annotations

from typing import Any

import flask
from flask.typing import ResponseReturnValue

from shared.identity import Permission
from shared.schemas.movies import Movie
from shared.web import api, charts, forms, session
from shared.web.client import ApiProblem, ApiUnavailable
from shared.web.views.common import check_rate, limit_writes, parallel, redirect

bp = flask.Blueprint("movies", __name__)
PAGE_SIZE = 20
REVIEWS_PAGE_SIZE = 20
LABEL_FILTERS = ("positive", "neutral", "negative")
SORTS = {
    "-created_at": "최근 등록순",
    "created_at": "오래된 등록순",
    "title": "제목 가나다순",
    "-title": "제목 역순",
    "-release_date": "최신 개봉순",
    "release_date": "오래된 개봉순",
}
FILTERS = ("q", "genre", "director", "year")
UNAVAILABLE = "서비스에 잠시 연결할 수 없습니다. 잠시 후 다시 시도해 주세요."
# API answers that are a page of their own (missing, refused, throttled), not a form message
PAGE_ERRORS = (401, 403, 404, 429)


# --- list --------------------------------------------------------------------


@bp.get("/films")
def list_movies() -> tuple[str, int]:
    args = flask.request.args
    filters = {name: args.get(name, "").strip() for name in FILTERS}
    sort = args.get("sort", "-created_at")
    sort = sort if sort in SORTS else "-created_at"
    query: dict[str, Any] = {**filters, "sort": sort, "limit": PAGE_SIZE}
    query["cursor"] = args.get("cursor") or None
    error, status = None, 200
    try:
        page = api.list_movies(query)
        items, next_cursor = page.items, page.next_cursor
    except ApiUnavailable:
        raise
    except ApiProblem as problem:
        if problem.status not in (400, 422):
            raise
        items, next_cursor, status = [], None, 400
        error = _filter_error(problem)
    return flask.render_template(
        "movies/list.html",
        movies=items,
        next_cursor=next_cursor,
        filters=filters,
        active={name: value for name, value in filters.items() if value},
        sort=sort,
        sorts=SORTS,
        paged=bool(query["cursor"]),
        error=error,
    ), status


def _filter_error(problem: ApiProblem) -> str:
    fields = {str(e.get("field") or "").removeprefix("query.") for e in problem.errors}
    if "year" in fields:
        return "개봉 연도는 1870~2100 사이의 숫자로 입력하세요."
    if "cursor" in fields or problem.status == 400:
        return "페이지 정보가 올바르지 않습니다. 처음부터 다시 보세요."
    return "검색 조건이 올바르지 않습니다."


# --- add / edit / delete -----------------------------------------------------


# Who may is checked here (session.require: the role, revocation included) before the API is
# called, and again by the API, which has the last word: a refusal changes nothing either way.


@bp.get("/films/new")
def new_movie() -> str:
    session.require(Permission.MOVIES_WRITE)
    return flask.render_template("movies/form.html", movie=None, values={}, errors={})


@bp.post("/films")
def create_movie() -> ResponseReturnValue:
    user = session.require(Permission.MOVIES_WRITE)
    limit_writes(user)
    form = flask.request.form
    try:
        movie = api.create_movie(user.cookie, forms.movie_payload(form, partial=False))
    except ApiProblem as problem:
        return _form_again(None, form, problem)
    flask.flash(f"「{movie.title}」을(를) 추가했습니다.", "ok")
    return redirect("movies.movie", movie_id=movie.id)


@bp.get("/films/<int:movie_id>/edit")
def edit_movie(movie_id: int) -> str:
    session.require(Permission.MOVIES_WRITE)
    movie = api.get_movie(movie_id)
    values = {name: getattr(movie, name) or "" for name in forms.MOVIE_FIELDS}
    return flask.render_template("movies/form.html", movie=movie, values=values, errors={})


@bp.post("/films/<int:movie_id>/edit")
def update_movie(movie_id: int) -> ResponseReturnValue:
    user = session.require(Permission.MOVIES_WRITE)
    limit_writes(user)
    movie = api.get_movie(movie_id)
    form = flask.request.form
    try:
        api.update_movie(user.cookie, movie_id, forms.movie_payload(form, partial=True))
    except ApiProblem as problem:
        if problem.status in PAGE_ERRORS:
            raise
        return _form_again(movie, form, problem)
    flask.flash("영화 정보를 고쳤습니다.", "ok")
    return redirect("movies.movie", movie_id=movie_id)


def _form_again(
    movie: Movie | None, form: Any, problem: ApiProblem
) -> tuple[str, int, dict[str, str]]:
    """The form with what was typed and a message next to each field the API refused."""
    if problem.status in PAGE_ERRORS and not isinstance(problem, ApiUnavailable):
        raise problem
    if isinstance(problem, ApiUnavailable):
        errors = {forms.GENERAL: UNAVAILABLE}
    elif problem.status == 422:
        errors = forms.field_errors(problem.errors, forms.MOVIE_FIELDS)
    else:
        errors = {forms.GENERAL: f"저장하지 못했습니다 ({problem.detail})."}
    values = {name: form.get(name, "") for name in forms.MOVIE_FIELDS}
    html = flask.render_template("movies/form.html", movie=movie, values=values, errors=errors)
    return html, _status(problem), _retry(problem)


@bp.get("/films/<int:movie_id>/delete")
def confirm_delete(movie_id: int) -> str:
    session.require(Permission.MOVIES_WRITE)
    movie, rating = parallel(lambda: api.get_movie(movie_id), lambda: api.get_rating(movie_id))
    return flask.render_template("movies/delete.html", movie=movie, reviews=rating.review_count)


@bp.post("/films/<int:movie_id>/delete")
def delete_movie(movie_id: int) -> ResponseReturnValue:
    user = session.require(Permission.MOVIES_WRITE)
    limit_writes(user)
    movie, rating = parallel(lambda: api.get_movie(movie_id), lambda: api.get_rating(movie_id))
    api.delete_movie(user.cookie, movie_id)
    flask.flash(
        f"「{movie.title}」을(를) 삭제했습니다 (리뷰 {rating.review_count}개도 함께 삭제).", "ok"
    )
    return redirect("movies.list_movies")


# --- the movie page ----------------------------------------------------------


@bp.get("/films/<int:movie_id>")
def movie(movie_id: int) -> str:
    return _movie_page(movie_id, values={}, errors={})


def _movie_page(
    movie_id: int, *, values: dict[str, str], errors: dict[str, str], request_id: str | None = None
) -> str:
    args = flask.request.args
    label = args.get("label") if args.get("label") in LABEL_FILTERS else None
    cursor = args.get("cursor") or None
    movie, rating, trend, reviews = parallel(
        lambda: api.get_movie(movie_id),
        lambda: api.get_rating(movie_id),
        lambda: api.get_trend(movie_id, "week"),
        lambda: api.list_reviews(movie_id, label, cursor, REVIEWS_PAGE_SIZE),
    )
    return flask.render_template(
        "movies/detail.html",
        movie=movie,
        rating=rating,
        split=charts.split(rating.label_counts),
        histogram=charts.histogram(rating.rating_histogram),
        trend=charts.trend(trend.items),
        reviews=reviews.items,
        next_cursor=reviews.next_cursor,
        label=label,
        paged=bool(cursor),
        values=values,
        errors=errors,
        request_id=request_id or forms.new_request_id(),
        highlight=flask.request.args.get("new", ""),
    )


@bp.post("/films/<int:movie_id>/reviews")
def create_review(movie_id: int) -> ResponseReturnValue:
    user = session.require(Permission.REVIEWS_WRITE_OWN)
    limit_writes(user)
    form = flask.request.form
    try:
        review = api.create_review(
            user.cookie, forms.review_payload(movie_id, form), forms.idempotency_key(form)
        )
    except ApiProblem as problem:
        if problem.status in PAGE_ERRORS:
            raise
        errors, request_id = _review_errors(problem, form)
        values = {name: form.get(name, "") for name in forms.REVIEW_FIELDS}
        html = _movie_page(movie_id, values=values, errors=errors, request_id=request_id)
        return html, _status(problem), _retry(problem)
    verdict = charts.LABEL_NAMES[review.sentiment.label]
    flask.flash(
        f"리뷰를 등록했습니다: {verdict} (신뢰도 {review.sentiment.confidence * 100:.0f}%).", "ok"
    )
    return redirect("movies.movie", anchor=f"review-{review.id}", movie_id=movie_id, new=review.id)


def _review_errors(problem: ApiProblem, form: Any) -> tuple[dict[str, str], str | None]:
    """Messages for the form, and the request id to render (a new one after a conflict)."""
    if isinstance(problem, ApiUnavailable):
        return {forms.GENERAL: "감정 분석을 잠시 할 수 없습니다. 잠시 후 다시 등록해 주세요."}, (
            form.get("request_id")
        )
    if problem.status == 422:
        return forms.field_errors(problem.errors, forms.REVIEW_FIELDS), form.get("request_id")
    if problem.status == 409:
        message = "이 양식은 이미 다른 내용으로 제출되었습니다. 내용을 확인하고 다시 등록해 주세요."
        return {forms.GENERAL: message}, None
    return {forms.GENERAL: f"등록하지 못했습니다 ({problem.detail})."}, None


@bp.post("/preview")
def preview() -> str:
    """The htmx fragment under the review form: the model's verdict on what is typed so far."""
    text = flask.request.form.get("content", "")
    if not text.strip():
        return flask.render_template("movies/_preview.html", sentiment=None, message=None)
    if check_rate("preview") is not None:
        message = "미리 보기 요청이 너무 많습니다. 잠시 후 다시 입력해 보세요."
        return flask.render_template("movies/_preview.html", sentiment=None, message=message)
    try:
        sentiment = api.preview(text)
    except ApiUnavailable:
        message = "지금은 미리 볼 수 없습니다. 등록은 잠시 후 다시 시도해 주세요."
        return flask.render_template("movies/_preview.html", sentiment=None, message=message)
    except ApiProblem as problem:
        message = {
            400: "리뷰는 2000자 이내로, 제어 문자 없이 써 주세요.",
            422: "리뷰는 2000자 이내로, 제어 문자 없이 써 주세요.",
            429: "지금은 미리 보기 요청이 많습니다. 잠시 후 다시 입력해 보세요.",
        }.get(problem.status, "미리 볼 수 없습니다.")
        return flask.render_template("movies/_preview.html", sentiment=None, message=message)
    return flask.render_template("movies/_preview.html", sentiment=sentiment, message=None)


def _status(problem: ApiProblem) -> int:
    if isinstance(problem, ApiUnavailable):
        return 503
    return problem.status if problem.status in (400, 409, 422) else 502


def _retry(problem: ApiProblem) -> dict[str, str]:
    return (
        {"Retry-After": problem.retry_after or "5"} if isinstance(problem, ApiUnavailable) else {}
    )
