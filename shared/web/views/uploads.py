"""Upload a review file into the uploads bucket and follow it until its report exists."""

from __future__ import annotations

import flask
from flask.typing import ResponseReturnValue

from shared.web import uploads
from shared.web.views.common import limit_writes, redirect

bp = flask.Blueprint("uploads", __name__)


@bp.get("/upload")
def upload_form() -> str:
    return flask.render_template("uploads/form.html", error=None)


@bp.post("/upload")
def upload() -> ResponseReturnValue:
    limit_writes()
    file = flask.request.files.get("file")
    if file is None or not file.filename:
        return flask.render_template("uploads/form.html", error="올릴 파일을 고르세요."), 400
    try:
        ref = uploads.store(file.stream, file.filename)
    except uploads.UploadTooLarge:
        flask.abort(413)
    except uploads.UploadRejected as rejected:
        return flask.render_template("uploads/form.html", error=str(rejected)), 400
    return redirect("uploads.status", token=ref.token, name=ref.name)


def _ref(token: str, name: str) -> uploads.UploadRef:
    ref = uploads.UploadRef.parse(token, name)
    if ref is None:
        flask.abort(404)
    return ref


@bp.get("/uploads/<token>/<name>")
def status(token: str, name: str) -> str:
    ref = _ref(token, name)
    return flask.render_template("uploads/status.html", ref=ref, report=uploads.report(ref))


@bp.get("/uploads/<token>/<name>/report")
def report_fragment(token: str, name: str) -> str:
    """What htmx polls every second: the same block, with the report once it exists."""
    ref = _ref(token, name)
    return flask.render_template("uploads/_report.html", ref=ref, report=uploads.report(ref))


@bp.get("/uploads/<token>/<name>/rejects")
def rejects(token: str, name: str) -> flask.Response:
    ref = _ref(token, name)
    chunks = uploads.rejects(ref)
    if chunks is None:
        flask.abort(404)
    response = flask.Response(chunks, mimetype="text/plain")
    response.headers["Content-Disposition"] = f'attachment; filename="rejects-{ref.name}.jsonl"'
    return response
