"""Home: the leaderboard, recently reviewed movies and a search box."""

from __future__ import annotations

import flask

from shared.web import api
from shared.web.views.common import parallel

bp = flask.Blueprint("pages", __name__)
LEADERBOARD_MIN_REVIEWS = 3
LEADERBOARD_SIZE = 10
RECENT_SIZE = 8


@bp.get("/")
def home() -> str:
    top, recent = parallel(
        lambda: api.leaderboard("bayesian", LEADERBOARD_MIN_REVIEWS, LEADERBOARD_SIZE),
        lambda: api.leaderboard("recent", 1, RECENT_SIZE),
    )
    return flask.render_template(
        "home.html", top=top.items, recent=recent.items, min_reviews=LEADERBOARD_MIN_REVIEWS
    )


@bp.get("/healthz")
def healthz() -> flask.Response:
    return flask.jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> flask.Response:
    """Ready when the APIs behind the console answer (a one-row leaderboard read); else the
    503 page with Retry-After (the uptime check in monitoring.tf watches this)."""
    api.leaderboard("recent", 0, 1)
    return flask.jsonify(status="ready")
