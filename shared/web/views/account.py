"""Accounts: sign up, sign in, sign out; the account page (rename, delete); my reviews.

Everything server-side, no JavaScript: the console talks to Identity Platform through the
Identity Toolkit REST API (shared.identity.toolkit) and keeps a Firebase session cookie
(shared.web.session). Every form carries a CSRF token, the sign-in form too (no one can sign
a visitor in to an account of theirs). Password checks are rate-limited per client here.

Renaming re-issues the session. A session cookie keeps the claims it was made with, the
display name among them, and the API takes a member's review author from those claims: a
cookie kept after a rename would go on writing reviews under the old name. Firebase makes
session cookies only from a sign-in of the last five minutes, so the rename form asks for the
password: sign in, rename (accounts:update), refresh the ID token (it now carries the new
name), make a new session cookie from it. Other browsers keep the old name until they sign in
again. Deleting the account asks for the password too (shared.web.deletion).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import flask
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response as BaseResponse

from shared.errors import ApiError, Conflict, IdentityUnavailable, Unauthorized, ValidationFailed
from shared.errors import TooManyRequests as Throttled
from shared.identity import create_session_cookie, revoke_sessions, toolkit
from shared.identity.failures import ACCOUNT_DISABLED
from shared.web import api, deletion, forms, session
from shared.web.views.common import (
    limit_attempts,
    limit_writes,
    local_path,
    parallel,
    redirect_to,
)

bp = flask.Blueprint("account", __name__)
MY_REVIEWS_PAGE_SIZE = 20
WRONG_CREDENTIALS = "이메일 또는 비밀번호가 올바르지 않습니다."
WRONG_PASSWORD = "비밀번호가 올바르지 않습니다."  # noqa: S105  (a message)
NOT_DELETED = "리뷰는 모두 삭제했지만 계정은 아직 삭제하지 못했습니다. 잠시 후 다시 시도해 주세요."
# Identity Platform's refusals in Korean, by kind (the toolkit's texts are for logs)
REFUSALS: dict[type[ApiError], str] = {
    Conflict: "이미 가입된 이메일입니다. 로그인해 보세요.",
    Throttled: "시도가 너무 많습니다. 잠시 후 다시 시도해 주세요.",
    IdentityUnavailable: "로그인 서비스에 잠시 연결할 수 없습니다. 잠시 후 다시 해 주세요.",
}


# --- sign up, sign in, sign out ---------------------------------------------------


@bp.get("/login")
def sign_in() -> str:
    return sign_in_form({}, {})


@bp.post("/login")
def sign_in_submit() -> ResponseReturnValue:
    limit_attempts("sign-in")
    form = flask.request.form
    email, password = form.get("email", "").strip(), form.get("password", "")
    if not email or not password:  # not worth a call to Identity Platform
        return sign_in_form(form, {forms.GENERAL: "이메일과 비밀번호를 입력하세요."}), 422
    try:
        signed_in = toolkit.get_toolkit().sign_in(email, password)
        cookie = create_session_cookie(signed_in.id_token)
    except ApiError as refused:
        status, message = refusal(refused, WRONG_CREDENTIALS)
        return sign_in_form(form, {forms.GENERAL: message}), status, retry_after(refused)
    flask.flash("로그인했습니다.", "ok")
    return _start(cookie)


@bp.get("/signup")
def sign_up() -> str:
    return _sign_up_form({}, {})


@bp.post("/signup")
def sign_up_submit() -> ResponseReturnValue:
    limit_attempts("sign-up")
    form = flask.request.form
    name, errors = forms.display_name(form)
    if errors:
        return _sign_up_form(form, errors), 422
    try:
        made = toolkit.get_toolkit().sign_up(form.get("email", ""), form.get("password", ""), name)
        cookie = create_session_cookie(made.id_token)
    except ValidationFailed as invalid:
        errors = forms.field_errors(invalid.errors or [], forms.ACCOUNT_FIELDS)
        return _sign_up_form(form, errors), 422
    except ApiError as refused:
        status, message = refusal(refused, WRONG_CREDENTIALS)
        return _sign_up_form(form, {forms.GENERAL: message}), status, retry_after(refused)
    flask.flash(f"환영합니다, {name}님. 가입을 마쳤습니다.", "ok")
    return _start(cookie)


@bp.post("/logout")
def sign_out() -> ResponseReturnValue:
    """End the session here and everywhere: a Firebase session cookie cannot be revoked on
    its own, so every session of the account is (a copied cookie dies with it)."""
    user = session.current_user()
    if user is not None:
        try:
            revoke_sessions(user.uid)
        except ApiError as failed:  # the cookie still goes; it may live on until it expires
            flask.current_app.logger.warning("sign-out could not revoke: %s", failed.detail)
    flask.session.clear()  # a new CSRF token for whoever uses this browser next
    flask.flash("로그아웃했습니다.", "ok")
    return session.end(redirect_to("/"))


def _start(cookie: str) -> BaseResponse:
    return begin_session(cookie, flask.request.form.get("next"))


def begin_session(cookie: str, next_path: str | None) -> BaseResponse:
    """The signed-in browser, sent on to `next_path` (a local path only)."""
    flask.session.pop("csrf_token", None)  # a signed-in session gets CSRF tokens of its own
    return session.start(redirect_to(local_path(next_path)), cookie)


def sign_in_form(values: Any, errors: dict[str, str]) -> str:
    return flask.render_template(
        "account/sign_in.html", values=values, errors=errors, next=_next(values)
    )


def _sign_up_form(values: Any, errors: dict[str, str]) -> str:
    return flask.render_template(
        "account/sign_up.html", values=values, errors=errors, next=_next(values)
    )


def _next(values: Any) -> str:
    return local_path(values.get("next") or flask.request.args.get("next"))


def refusal(error: ApiError, unauthorized: str) -> tuple[int, str]:
    if isinstance(error, Unauthorized):
        disabled = error.detail == ACCOUNT_DISABLED
        return 401, "정지된 계정입니다. 관리자에게 문의하세요." if disabled else unauthorized
    for kind, answer in REFUSALS.items():
        if isinstance(error, kind):
            return error.status, answer
    return 400, "처리할 수 없는 요청입니다. 입력을 확인해 주세요."


def retry_after(error: ApiError) -> dict[str, str]:
    retry = error.headers.get("Retry-After")
    return {"Retry-After": retry} if retry else {}


# --- the account page --------------------------------------------------------------


@bp.get("/account")
def account() -> str:
    return _account_page(session.require(), {}, {})


@bp.post("/account/name")
def rename() -> ResponseReturnValue:
    user = session.require()
    form = flask.request.form
    name, errors = forms.display_name(form)
    if errors:
        return _account_page(user, form, errors), 422
    client = toolkit.get_toolkit()
    try:
        signed_in = _signed_in_again(user, form)
        client.update_display_name(signed_in.id_token, name)
        renamed = client.refresh(signed_in.refresh_token)  # an ID token with the new name
        cookie = create_session_cookie(renamed.id_token)
    except ApiError as refused:
        status, message = refusal(refused, WRONG_PASSWORD)
        page = _account_page(user, form, {"rename_password": message})
        return page, status, retry_after(refused)
    flask.flash(f"이름을 「{name}」(으)로 바꿨습니다.", "ok")
    return session.start(redirect_to(flask.url_for("account.account")), cookie)


@bp.post("/account/delete")
def delete() -> ResponseReturnValue:
    user = session.require()
    form = flask.request.form
    if form.get("confirm") != "yes":
        return _account_page(user, form, {"confirm": "삭제하려면 확인란을 선택하세요."}), 422
    try:
        _signed_in_again(user, form)
    except ApiError as refused:
        status, message = refusal(refused, WRONG_PASSWORD)
        return _account_page(user, form, {"delete_password": message}), status, retry_after(refused)
    if deletion.delete_account(user.uid, user.cookie) is deletion.Deletion.REVIEWS_GONE:
        page = _account_page(user, {}, {"delete_password": NOT_DELETED})
        return page, 503, {"Retry-After": "5"}
    flask.session.clear()
    flask.flash("계정과 리뷰를 모두 삭제했습니다. 그동안 고마웠습니다.", "ok")
    return session.end(redirect_to("/"))


def _signed_in_again(user: session.User, form: Any) -> toolkit.SignedIn:
    """A fresh sign-in of the signed-in account with the password the form carries: the proof
    a rename or a deletion needs. Counted as a write and as a sign-in attempt."""
    limit_writes(user)
    limit_attempts("sign-in")
    signed_in = toolkit.get_toolkit().sign_in(user.identity.email or "", form.get("password", ""))
    if signed_in.uid != user.uid:  # another account's password: refused like a wrong one
        raise Unauthorized("the password is another account's")
    return signed_in


def _account_page(user: session.User, values: Any, errors: dict[str, str]) -> str:
    return flask.render_template("account/account.html", account=user, values=values, errors=errors)


# --- my reviews ------------------------------------------------------------------------


@bp.get("/account/reviews")
def my_reviews() -> str:
    user = session.require()
    cursor = flask.request.args.get("cursor") or None
    page = api.my_reviews(user.cookie, cursor, MY_REVIEWS_PAGE_SIZE)
    titles = _titles({review.movie_id for review in page.items})
    return flask.render_template(
        "account/reviews.html",
        reviews=page.items,
        titles=titles,
        next_cursor=page.next_cursor,
        paged=bool(cursor),
    )


def _titles(movie_ids: set[int]) -> dict[int, str]:
    """Each movie's title, fetched at once (a page holds reviews of at most 20 movies)."""
    movies = parallel(*(partial(api.get_movie, movie_id) for movie_id in sorted(movie_ids)))
    return {movie.id: movie.title for movie in movies}
