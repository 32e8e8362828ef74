"""Upload a review file into the uploads bucket and follow it until its report exists.

Admins only: the console writes the file to the bucket itself (no API in between), so its
own check (with revocation) is the whole check here.
"""

from __future__ import annotations

import flask
from flask.typing import ResponseReturnValue

from shared.identity import Permission
from shared.web import session, uploads
from shared.web.views.common import limit_writes, redirect

bp = flask.Blueprint("uploads", __name__)
# how much more of a refused upload is read (and dropped) so that its sender sees the answer
DRAIN_BYTES = 64 << 20


@bp.get("/upload")
def upload_form() -> str:
    session.require(Permission.UPLOADS_WRITE)
    return flask.render_template("uploads/form.html", error=None)


@bp.post("/upload")
def upload() -> ResponseReturnValue:
    limit_writes(session.require(Permission.UPLOADS_WRITE))
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


@bp.after_request
def _read_refused_upload_to_its_end(response: flask.Response) -> flask.Response:
    """The 413 page of an upload over the cap, with the rest of the upload read and dropped.

    A body sent in chunks has no Content-Length to refuse it by, so it is cut off once the
    cap is passed; functions-framework then reads every request to its end after the
    function answers (a non-streamed answer), and that read failed: a plain 500 instead of
    this page, and a client still sending saw its connection dropped. So the rest is read
    here (at most DRAIN_BYTES more, from the server's own input: werkzeug's capped stream
    refuses to) and the page is sent as a stream, which the framework does not read after.
    """
    if response.status_code != 413:
        return response
    source = flask.request.environ["wsgi.input"]
    left = DRAIN_BYTES
    while left > 0 and (chunk := source.read(min(left, 1 << 16))):
        left -= len(chunk)
    response.response = iter([response.get_data()])
    return response


def _ref(token: str, name: str) -> uploads.UploadRef:
    """The upload these pages follow: the admins' (its report lists rejected lines)."""
    session.require(Permission.UPLOADS_WRITE)
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
