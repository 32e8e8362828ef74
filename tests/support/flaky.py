"""A flaky network in front of a real service: every request is forwarded, except those a test
names, which fail as a load balancer fails them when the backend is away (502)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

import requests
from werkzeug.wrappers import Request, Response

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-encoding", "host"}


class FlakyProxy:
    """A WSGI app forwarding to `target` (http://host:port); `fail(fragment, times)` makes the
    next `times` requests whose path contains `fragment` answer 502 without being forwarded."""

    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")
        self.failing: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()  # fragment -> requests failed
        self._session = requests.Session()

    def fail(self, fragment: str, times: int) -> None:
        self.failing[fragment] = times

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        for fragment, left in self.failing.items():
            if left and fragment in request.path:
                self.failing[fragment] -= 1
                self.failed[fragment] += 1
                return Response("bad gateway", status=502)(environ, start_response)
        answer = self._session.request(
            request.method,
            self.target + request.full_path.rstrip("?"),
            data=request.get_data(),
            headers={k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP},
            timeout=30,
        )
        headers = [(k, v) for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP]
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        response = Response(answer.content, status=answer.status_code, headers=headers)
        return response(environ, start_response)
