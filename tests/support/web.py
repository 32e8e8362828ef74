"""The console's tests: live HTTP servers (the functions on free ports, in this process), HTML
parsing, and signed-in test clients (through the console's own sign-in page)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from typing import Any

from flask.testing import FlaskClient
from werkzeug.serving import make_server

from shared.web.session import COOKIE
from tests.support import function_client
from tests.support.identity import TestUser

API_FUNCTIONS = ("movies", "reviews", "ratings")


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """`app` (any WSGI app) on 127.0.0.1 and a free port; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def function_app(name: str, target: str | None = None, signature: str = "http") -> Any:
    """functions-framework's WSGI app for functions/<name>/main.py."""
    return function_client(name, target, signature).application


def api_env(urls: dict[str, str]) -> dict[str, str]:
    """Settings that point the console at each function's own URL."""
    return {f"{name.upper()}_API_URL": url for name, url in urls.items()}


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


class Node:
    def __init__(self, tag: str, attrs: dict[str, str | None], parent: Node | None) -> None:
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Node | str] = []

    @property
    def text(self) -> str:
        """The text content, whitespace collapsed."""
        parts = [c if isinstance(c, str) else c.text for c in self.children]
        return " ".join(" ".join(parts).split())

    def iter(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.iter()

    def attr(self, name: str) -> str:
        """The value of an attribute this node must carry."""
        value = self.attrs.get(name)
        assert value is not None, f"<{self.tag}> has no {name}"
        return value

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        """Elements by tag and exact attribute values (class_ for class)."""
        wanted = {k.rstrip("_"): v for k, v in attrs.items()}
        return [
            node
            for node in self.iter()
            if (tag is None or node.tag == tag)
            and all(
                (v in (node.attrs.get(k) or "").split()) if k == "class" else node.attrs.get(k) == v
                for k, v in wanted.items()
            )
        ]

    def one(self, tag: str | None = None, **attrs: str) -> Node:
        found = self.find_all(tag, **attrs)
        assert len(found) == 1, f"expected one {tag} {attrs}, found {len(found)}"
        return found[0]

    def by_id(self, element_id: str) -> Node:
        return self.one(id=element_id)


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {}, None)
        self.current = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs), self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.current.children.append(Node(tag, dict(attrs), self.current))

    def handle_endtag(self, tag: str) -> None:
        node: Node | None = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.children.append(data)


def parse_html(html: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def page(response: Any) -> Node:
    return parse_html(response.get_data(as_text=True))


def csrf(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token of this client's session, from a form on `path`."""
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    token = page(response).find_all("input", name="csrf_token")[0].attrs["value"]
    assert token
    return token


def sign_in(client: FlaskClient, user: TestUser) -> FlaskClient:
    """Sign `user` in on `client` through the console's sign-in page; the client keeps the
    session cookie."""
    data = {"email": user.email, "password": user.password, "csrf_token": csrf(client)}
    response = client.post("/login", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)
    assert session_cookie(client), "signing in set no session cookie"
    return client


def signed_in(web: FlaskClient, user: TestUser) -> FlaskClient:
    """A new browser (its own cookies) on the same console, signed in as `user`."""
    return sign_in(web.application.test_client(), user)


def session_cookie(client: FlaskClient) -> str | None:
    cookie = client.get_cookie(COOKIE)
    return cookie.value if cookie is not None else None


def review_form(client: FlaskClient, movie_id: int, content: str) -> dict[str, str]:
    """The movie page's write-review form as `client` gets it, filled in with `content`."""
    form = page(client.get(f"/films/{movie_id}"))
    return {
        "csrf_token": form.find_all("input", name="csrf_token")[0].attr("value"),
        "request_id": form.one("input", name="request_id").attr("value"),
        "content": content,
    }
