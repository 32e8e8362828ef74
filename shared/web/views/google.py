"""Google sign-in (shared.web.google): where it starts and where Google sends the browser back.

Off (both routes 404, no button) unless GOOGLE_SIGN_IN_CLIENT_ID is set. The start is a link,
not a form: the page's CSP allows forms to post only to this site (`form-action 'self'`), and
browsers hold a form's redirects to that too, so a form could never reach Google. A link
changes nothing but this browser's flow cookie; the callback is what signs in, and its
`state` must match that cookie. Then the same session as a password sign-in: the per-client
sign-in budget, create_session_cookie, the session cookie, back to `next` (a path on this
site, checked when the flow starts and again when it ends). A new Google user is a member,
named as on Google. Every failure is the sign-in page with a message, and no session.
"""

from __future__ import annotations

import flask
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import NotFound

from shared.errors import ApiError
from shared.identity import create_session_cookie, toolkit
from shared.settings import get_settings
from shared.web import forms, google
from shared.web.views.account import begin_session, refusal, retry_after, sign_in_form
from shared.web.views.common import limit_attempts, local_path, redirect_to

bp = flask.Blueprint("google", __name__)
REFUSED = "Google 계정으로 로그인할 수 없습니다. 다른 방법으로 로그인해 보세요."
FAILED_BY_GOOGLE = "Google이 로그인을 거절했습니다. 다시 시도해 주세요."


@bp.get("/login/google")
def start() -> ResponseReturnValue:
    _enabled()
    target = local_path(flask.request.args.get("next"))
    url, flow = google.begin(target, _callback_url())
    return google.keep(redirect_to(url), flow)


@bp.get("/login/google/callback")
def callback() -> ResponseReturnValue:
    _enabled()
    args = flask.request.args
    try:
        flow = google.pending(args.get("state"))
    except google.Failed as failed:
        return _failed(failed, "/")
    try:
        if args.get("error"):  # access_denied: the visitor said no on Google's page
            cancelled = args["error"] == "access_denied"
            message = google.CANCELLED if cancelled else FAILED_BY_GOOGLE
            raise google.Failed(401, message, f"Google answered {args['error']}")
        limit_attempts("sign-in")
        id_token = google.exchange(args.get("code", ""), _callback_url(), flow)
        signed_in = toolkit.get_toolkit().sign_in_with_google(id_token, _callback_url())
        cookie = create_session_cookie(signed_in.id_token)
    except google.Failed as failed:
        return _failed(failed, flow.next)
    except ApiError as refused:
        status, message = refusal(refused, REFUSED)
        page = sign_in_form({"next": flow.next}, {forms.GENERAL: message})
        return google.forget(flask.make_response(page, status, retry_after(refused)))
    flask.flash("Google 계정으로 로그인했습니다.", "ok")
    return google.forget(begin_session(cookie, flow.next))


def _enabled() -> None:
    if not google.enabled():
        raise NotFound()


def _callback_url() -> str:
    """Where Google sends the browser back, exactly as the OAuth client lists it: behind
    Google's front end (trusted proxy hops) every request is HTTPS, whatever the scheme the
    function sees."""
    https = get_settings().web_trusted_proxy_hops > 0
    scheme = "https" if https else flask.request.scheme
    return flask.url_for("google.callback", _external=True, _scheme=scheme)


def _failed(failed: google.Failed, next_path: str) -> flask.Response:
    flask.current_app.logger.info("Google sign-in failed: %s", failed)
    page = sign_in_form({"next": next_path}, {forms.GENERAL: failed.message})
    return google.forget(flask.make_response(page, failed.status))
