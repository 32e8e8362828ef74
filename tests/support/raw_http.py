"""HTTP on a bare socket: requests no client library would send (too long, malformed, cut
short), and the answer a server gives them."""

from __future__ import annotations

import http.client
import socket


def send(base: str, data: bytes) -> socket.socket:
    """A connection to `base` (http://host:port) that has sent `data`, and maybe no more."""
    host, _, port = base.removeprefix("http://").partition(":")
    conn = socket.create_connection((host, int(port)), timeout=10)
    conn.sendall(data)
    return conn


def answer(conn: socket.socket) -> tuple[int, str, bytes]:
    """The status, Content-Type and body answered on `conn`, which is then closed."""
    with conn:
        response = http.client.HTTPResponse(conn)
        response.begin()
        return response.status, response.getheader("Content-Type", ""), response.read()


def headers(count: int, line: bytes = b"X-%d: 1") -> bytes:
    """`count` header lines, numbered, each with its CRLF."""
    return b"".join(line % i + b"\r\n" for i in range(count))
