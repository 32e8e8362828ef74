"""A function as `make run` starts it and the cloud runs it: functions-framework's gunicorn.

functions-framework runs gunicorn with no request-line limit and reads no setting for its
header limits, locally or in the cloud; our functions raise gunicorn's defaults when their
source is loaded (shared/http/limits.py) to 128 fields of at most 64 KiB each, and answer
themselves, with a 431 problem, anything past their own limits (100 fields, 8190-byte lines
with their CRLF). These tests pin what reaches our application, what it answers, and what
gunicorn still answers itself, as the README says.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator

import pytest
import requests

from infra.localpg import free_port
from infra.stack import FUNCTIONS, function_command
from shared.http.limits import SERVER_HEADER_FIELDS, SERVER_HEADER_LINE_BYTES
from tests.support import API_KEY
from tests.support.identity import Accounts, TestUser
from tests.support.raw_http import answer, headers, send


@pytest.fixture(scope="module")
def movies() -> Iterator[str]:
    """The movies function under functions-framework (no request here touches its database)."""
    with _serving("movies", "/healthz") as base:
        yield base


@pytest.fixture
def console(users: Accounts) -> Iterator[str]:
    """The web console under functions-framework, signing in against the Auth emulator (no
    request here reaches the APIs)."""
    with _serving("web", "/login") as base:
        yield base


@contextlib.contextmanager
def _serving(target: str, ready: str) -> Iterator[str]:
    fn = next(fn for fn in FUNCTIONS if fn.target == target)
    fn = dataclasses.replace(fn, port=free_port())
    env = os.environ | {"API_KEYS": API_KEY, "GOOGLE_CLOUD_PROJECT": "local"}
    # a session of its own: gunicorn's worker is the master's child, and a master killed
    # alone would leave it serving, an orphan, long after the test
    child = subprocess.Popen(
        function_command(fn),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{fn.port}"
    try:
        _wait_until_up(f"{base}{ready}", child)
        yield base
    finally:
        child.send_signal(signal.SIGINT)  # gunicorn's quick shutdown
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(10)
        with contextlib.suppress(ProcessLookupError):  # whatever of the session is left
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()


def _wait_until_up(url: str, child: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and child.poll() is None:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not come up")


def get(base: str, target: bytes, head: bytes = b"") -> tuple[int, str, bytes]:
    return answer(send(base, b"GET " + target + b" HTTP/1.1\r\nHost: f\r\n" + head + b"\r\n"))


def test_a_request_line_of_any_length_reaches_the_application(movies: str) -> None:
    status, content_type, body = get(movies, b"/movies/x?q=" + b"a" * 200_000)
    assert (status, content_type) == (404, "application/problem+json")  # our app's answer
    assert json.loads(body)["status"] == 404


def test_header_lines_up_to_8190_bytes_and_100_fields_reach_the_application(
    movies: str,
) -> None:
    longest = b"X-Pad: " + b"a" * (8190 - len(b"X-Pad: \r\n")) + b"\r\n"
    assert get(movies, b"/healthz", longest)[:2] == (200, "application/json")
    assert get(movies, b"/healthz", headers(99))[:2] == (200, "application/json")  # + Host
    many_long = headers(90, b"X-%d: " + b"a" * 8000)  # 720 KB of headers in all
    assert get(movies, b"/healthz", many_long)[:2] == (200, "application/json")


@pytest.mark.parametrize(
    "head",
    [
        b"X-Pad: " + b"a" * (8191 - len(b"X-Pad: \r\n")) + b"\r\n",  # one byte over ours
        b"X-Pad: " + b"a" * (SERVER_HEADER_LINE_BYTES - len(b"X-Pad: \r\n")) + b"\r\n",
        headers(100),  # + Host: 101
        headers(SERVER_HEADER_FIELDS - 2),  # + Host: 127, all gunicorn reads
    ],
    ids=["8191-byte line", "64 KiB line", "101 fields", "127 fields"],
)
def test_the_application_answers_larger_headers_itself_with_a_431_problem(
    movies: str, head: bytes
) -> None:
    status, content_type, body = get(movies, b"/healthz", head)
    assert (status, content_type) == (431, "application/problem+json")
    assert json.loads(body)["title"] == "Request Header Fields Too Large"


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /healthz HTTP/1.1\r\nX-Pad: " + b"a" * SERVER_HEADER_LINE_BYTES + b"\r\n\r\n", 431),
        (b"GET /healthz HTTP/1.1\r\n" + headers(SERVER_HEADER_FIELDS + 1) + b"\r\n", 431),
        (b"GET /healthz HTTP/9.9\r\nHost: f\r\n\r\n", 400),
    ],
    ids=["line over 64 KiB", "129 fields", "malformed"],
)
def test_gunicorn_answers_what_it_cannot_read_and_bad_requests_itself_in_html(
    movies: str, request_bytes: bytes, status: int
) -> None:
    assert answer(send(movies, request_bytes))[:2] == (status, "text/html")


def _signed_in(console: str, user: TestUser) -> requests.Session:
    """A browser session signed in as `user` through the console's own sign-in form."""
    session = requests.Session()
    form = session.get(f"{console}/login", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token, form
    data = {"email": user.email, "password": user.password, "csrf_token": token.group(1)}
    signed = session.post(f"{console}/login", data=data, timeout=30, allow_redirects=False)
    assert signed.status_code == 303, signed.text
    for cookie in session.cookies:  # requests keeps Secure cookies to https; browsers, to
        cookie.secure = False  # http://127.0.0.1 as well (the console's cookie is Secure)
    return session


def test_a_16_mib_chunked_console_upload_gets_the_413_page_on_an_open_connection(
    console: str, users: Accounts
) -> None:
    """Issue 23: a plain 500 page over the cap, and at 16 MiB a dropped connection. Uploads
    are an admin's: the admin gets the 413 page."""
    session = _signed_in(console, users.admin())
    form = session.get(f"{console}/upload", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token, form
    boundary = "b0undary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
        f"{token.group(1)}\r\n--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\n'
    )

    def chunks() -> Iterator[bytes]:  # no Content-Length: requests sends it chunked
        yield head.encode()
        mib = (b"1,a,b\n" * 200_000)[: 1 << 20]
        for _ in range(16):
            yield mib
        yield f"\r\n--{boundary}--\r\n".encode()

    response = session.post(
        f"{console}/upload",
        data=chunks(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        timeout=60,
    )
    assert response.status_code == 413
    assert response.headers["Content-Type"].startswith("text/html")
    assert "10 MB까지" in response.text
