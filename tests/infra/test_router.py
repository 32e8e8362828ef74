"""The local load-balancer stand-in routes by prefix and passes requests through unchanged."""

from __future__ import annotations

import json
import threading

import pytest
from werkzeug.serving import make_server
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from infra.localpg import free_port
from infra.router import Router


def echo(environ, start_response):
    request = Request(environ)
    body = {
        "path": request.full_path,
        "method": request.method,
        "body": request.get_data(as_text=True),
        "key": request.headers.get("X-API-Key"),
    }
    response = Response(
        json.dumps(body), status=201, mimetype="application/json", headers={"Location": "/x/1"}
    )
    return response(environ, start_response)


@pytest.fixture
def upstream():
    server = make_server("127.0.0.1", free_port(), echo, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_forwards_by_prefix_with_body_headers_and_status(upstream):
    client = Client(Router({"/reviews": upstream, "/sentiment": upstream}))
    response = client.post(
        "/reviews:batch?x=1",
        data=b'{"a": 1}',
        headers={"X-API-Key": "k"},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert response.headers["Location"] == "/x/1"
    assert response.get_json() == {
        "path": "/reviews:batch?x=1",
        "method": "POST",
        "body": '{"a": 1}',
        "key": "k",
    }
    assert client.get("/sentiment").status_code == 201


def test_unknown_prefix_is_a_404_problem(upstream):
    response = Client(Router({"/movies": upstream})).get("/moviesx")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_unreachable_function_is_a_503_problem():
    response = Client(Router({"/movies": f"http://127.0.0.1:{free_port()}"})).get("/movies")
    assert response.status_code == 503
    assert response.headers["Retry-After"]


def test_healthz_lists_routes(upstream):
    body = Client(Router({"/movies": upstream})).get("/healthz").get_json()
    assert body["routes"] == {"/movies": upstream}


def test_default_route_takes_every_unmatched_path(upstream):
    client = Client(Router({"/movies": "http://127.0.0.1:9"}, default=upstream))
    for path in ("/", "/films/1", "/docs", "/openapi.json", "/moviesx"):
        assert client.get(path).get_json()["path"].rstrip("?") == path
    health = Client(Router({"/movies": upstream}, default=upstream)).get("/healthz").get_json()
    assert health["routes"]["/"] == upstream
