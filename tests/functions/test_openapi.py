"""Each function's /openapi.json is a valid OpenAPI 3.1 document, and says what it enforces."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate

from tests.support import function_client

FUNCTIONS = ("movies", "reviews", "ratings")


@pytest.mark.parametrize("name", FUNCTIONS)
def test_the_document_is_valid_openapi(name: str) -> None:
    response = function_client(name).get("/openapi.json")
    assert response.status_code == 200
    validate(response.get_json())  # raises on any violation of the OpenAPI 3.1 schema


def _operation(name: str, path: str, method: str) -> Any:
    return function_client(name).get("/openapi.json").get_json()["paths"][path][method]


def test_text_rules_are_published() -> None:
    doc = function_client("movies").get("/openapi.json").get_json()
    title = doc["components"]["schemas"]["MovieCreate"]["properties"]["title"]
    assert (title["minLength"], title["maxLength"]) == (1, 200)
    assert "\\x00-\\x1f" in title["pattern"]  # no control characters, no line breaks
    poster = doc["components"]["schemas"]["MovieCreate"]["properties"]["poster_url"]
    assert "https?://" in str(poster)
    assert doc["components"]["schemas"]["MovieCreate"]["additionalProperties"] is False
    update = doc["components"]["schemas"]["MovieUpdate"]["properties"]["title"]
    assert "null" not in str(update)  # a title cannot be cleared


def test_idempotency_key_and_cost_rules_are_published() -> None:
    create = _operation("reviews", "/reviews", "post")
    header = next(p for p in create["parameters"] if p["name"] == "Idempotency-Key")
    assert header["in"] == "header" and header["schema"]["pattern"]
    assert "Location" in create["responses"]["201"]["headers"]
    preview = _operation("reviews", "/sentiment", "post")
    assert "429" in preview["responses"]
    assert "Retry-After" in preview["responses"]["429"]["headers"]


@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_operation_takes_either_credential(name: str) -> None:
    """Both schemes on every operation: a public one also takes none; one that needs a
    permission documents 401 (with its challenge), 403 and the write limit's 429."""
    doc = function_client(name).get("/openapi.json").get_json()
    assert set(doc["components"]["securitySchemes"]) == {"bearer", "apiKey"}
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            where = f"{method.upper()} {path}"
            assert {"bearer": []} in op["security"] and {"apiKey": []} in op["security"], where
            assert "400" in op["responses"], where  # both credentials at once
            if {} in op["security"]:
                continue
            assert method != "get", where  # reads are public
            assert {"401", "403", "429"} <= set(op["responses"]), where
            assert "WWW-Authenticate" in op["responses"]["401"]["headers"], where
    if name == "reviews":
        assert {} in _operation("reviews", "/sentiment", "post")["security"]
        assert {} not in _operation("reviews", "/sentiment:batch", "post")["security"]
        mine = _operation("reviews", "/reviews", "get")
        assert {"401", "503"} <= set(mine["responses"])  # ?mine=true needs an account


def test_path_ids_and_query_bounds_are_published() -> None:
    get = _operation("movies", "/movies/{movie_id}", "get")
    (param,) = get["parameters"]
    assert param["schema"] == {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
    listing = _operation("movies", "/movies", "get")
    year = next(p for p in listing["parameters"] if p["name"] == "year")
    assert (year["schema"]["minimum"], year["schema"]["maximum"]) == (1, 9999)
    assert "null" not in str([p["schema"] for p in listing["parameters"]])
