"""Request-header limits: ours, answered as problems, and gunicorn's, raised above ours.

Our functions accept at most HEADER_FIELDS header fields, each line at most HEADER_LINE_BYTES
(CRLF included: gunicorn's own defaults, so no client sees a new limit), and answer a request
over either with a 431 problem. gunicorn would answer those itself, with an HTML page, before
our application sees them: functions-framework builds gunicorn's configuration with options
of its own and reads no setting for these limits, but it does so after loading the
function's source, from the defaults of gunicorn's setting classes. So a function raises
those defaults when its source is loaded (`raise_server_limits`, called by every Api):
gunicorn then reads lines up to SERVER_HEADER_LINE_BYTES and up to SERVER_HEADER_FIELDS
fields (the local router's own limits: 64 KiB, and more than its 100 fields), and only
requests beyond those, or malformed ones, still get gunicorn's HTML page (README, "HTTP
conventions"; tests/infra/test_stack.py pins both sides). The request line needs nothing:
functions-framework already lifts gunicorn's limit on it.

Fields are counted as WSGI shows them: a field repeated on several lines arrives as one,
its values joined by commas (and measured so); the one functions-framework adds is not
counted.
"""

from __future__ import annotations

import flask

from shared.errors import ApiError

HEADER_LINE_BYTES = 8190
HEADER_FIELDS = 100
# added by functions-framework to the request it hands us, not sent by the client
FRAMEWORK_HEADERS = frozenset({"Function-Execution-Id"})
SERVER_HEADER_LINE_BYTES = 64 * 1024
SERVER_HEADER_FIELDS = 128


class HeaderFieldsTooLarge(ApiError):
    status, title, type_slug = 431, "Request Header Fields Too Large", "header-fields-too-large"


def raise_server_limits() -> None:
    """Let gunicorn read what we answer ourselves; a no-op where gunicorn is not installed
    (functions-framework then serves with Flask's development server, which has no limits)."""
    try:
        from gunicorn import config
    except ImportError:  # pragma: no cover - gunicorn does not run on Windows
        return
    config.LimitRequestFieldSize.default = SERVER_HEADER_LINE_BYTES
    config.LimitRequestFields.default = SERVER_HEADER_FIELDS


def check_headers(request: flask.Request) -> None:
    """HeaderFieldsTooLarge (431) for more than HEADER_FIELDS fields or a longer line."""
    fields = [(k, v) for k, v in request.headers.items() if k not in FRAMEWORK_HEADERS]
    if len(fields) > HEADER_FIELDS:
        raise HeaderFieldsTooLarge(f"more than {HEADER_FIELDS} header fields")
    for name, value in fields:
        line = len(name) + len(": ") + len(value.encode("latin-1", "replace")) + len("\r\n")
        if line > HEADER_LINE_BYTES:
            raise HeaderFieldsTooLarge(
                f"the {name[:40]} header line is {line} bytes; the limit is {HEADER_LINE_BYTES}"
            )
