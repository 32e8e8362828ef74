"""A review's own pages: its writer edits it; its writer (or an admin, moderating) deletes it.

Who may is shared.identity.roles' rule (may_edit_review, may_delete_review), checked here
before the API is called, and again by the API itself, which has the last word.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flask
from flask.typing import ResponseReturnValue

from shared.identity import may_delete_review, may_edit_review
from shared.identity.roles import Role
from shared.schemas.reviews import Review
from shared.web import api, forms, session
from shared.web.client import ApiProblem
from shared.web.session import Refused, User
from shared.web.views.common import limit_writes, local_path, redirect_to

bp = flask.Blueprint("reviews", __name__)
Rule = Callable[[Role | None, str | None, str | None], bool]
EDIT = "/films/<int:movie_id>/reviews/<int:review_id>/edit"


def allowed(rule: Rule, user: User | None, review: Review) -> bool:
    """Whether `rule` lets `user` at `review` (its user_id: the writer's account, None for a
    key client's or an upload's review)."""
    return user is not None and rule(user.identity.role, user.uid, review.user_id)


def may_edit(review: Review) -> bool:
    """For the templates: whether the signed-in user may edit `review` (its edit link)."""
    return allowed(may_edit_review, session.current_user(), review)


def may_delete(review: Review) -> bool:
    return allowed(may_delete_review, session.current_user(), review)


def _review(movie_id: int, review_id: int, rule: Rule) -> tuple[User, Review]:
    """The checked user and the review, if `rule` lets the user at it; else Refused."""
    user = session.require()
    review = api.get_review(review_id)
    if review.movie_id != movie_id:
        flask.abort(404)
    if not allowed(rule, user, review):
        raise Refused(user)
    return user, review


@bp.get(EDIT)
def edit_review(movie_id: int, review_id: int) -> str:
    _user, review = _review(movie_id, review_id, may_edit_review)
    return _form(review, {"content": review.content}, {})


@bp.post(EDIT)
def update_review(movie_id: int, review_id: int) -> ResponseReturnValue:
    user, review = _review(movie_id, review_id, may_edit_review)
    limit_writes(user)
    form = flask.request.form
    try:
        api.update_review(user.cookie, review_id, forms.review_update(form))
    except ApiProblem as problem:
        if problem.status != 422:
            raise
        errors = forms.field_errors(problem.errors, forms.REVIEW_FIELDS)
        return _form(review, form, errors), 422
    flask.flash("리뷰를 고쳤습니다. 새 내용으로 다시 판정했습니다.", "ok")
    target = flask.url_for("movies.movie", movie_id=movie_id, _anchor=f"review-{review_id}")
    return redirect_to(target)


@bp.post("/films/<int:movie_id>/reviews/<int:review_id>/delete")
def delete_review(movie_id: int, review_id: int) -> ResponseReturnValue:
    user = _review(movie_id, review_id, may_delete_review)[0]
    limit_writes(user)
    api.delete_review(user.cookie, review_id)
    flask.flash("리뷰를 삭제했습니다.", "ok")
    back = flask.url_for("movies.movie", movie_id=movie_id, _anchor="reviews")
    return redirect_to(local_path(flask.request.form.get("next"), back))


def _form(review: Review, values: Any, errors: dict[str, str]) -> str:
    return flask.render_template("reviews/edit.html", review=review, values=values, errors=errors)
