"""Merging the functions' OpenAPI documents into the base URL's one."""

from __future__ import annotations

from typing import Any

import pytest

from shared.settings import get_settings
from shared.web.openapi import MergeConflict, merge

PROBLEM = {"type": "object", "properties": {"status": {"type": "integer"}}}


def document(paths: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "x", "description": "d"},
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {"apiKey": {"type": "apiKey"}}},
    }


def test_paths_tagged_probes_dropped_identical_schemas_shared() -> None:
    movies = document(
        {
            "/movies": {"get": {"summary": "list"}},
            "/healthz": {"get": {}},
            "/openapi.json": {"get": {}},
            "/movies/openapi.json": {"get": {}},
        },
        {"Movie": {"type": "object"}, "Problem": PROBLEM},
    )
    ratings = document({"/ratings": {"get": {"summary": "board"}}}, {"Problem": PROBLEM})
    merged = merge({"movies": movies, "ratings": ratings}, None)
    assert list(merged["paths"]) == ["/movies", "/ratings"]
    assert merged["paths"]["/movies"]["get"]["tags"] == ["movies"]
    assert set(merged["components"]["schemas"]) == {"Movie", "Problem"}
    assert merged["servers"] == [{"url": "/"}]
    assert [t["name"] for t in merged["tags"]] == ["movies", "ratings"]


def test_functions_on_their_own_urls_get_per_path_servers() -> None:
    merged = merge(
        {"movies": document({"/movies": {"get": {}}}, {})}, {"movies": "https://movies.run.app"}
    )
    assert merged["paths"]["/movies"]["servers"] == [{"url": "https://movies.run.app"}]


@pytest.mark.parametrize(
    ("env", "servers"),
    [
        ({"API_BASE_URL": "http://base"}, None),
        (
            {"API_BASE_URL": "http://base", "MOVIES_API_URL": "https://m.run.app"},
            {"movies": "https://m.run.app", "reviews": "http://base", "ratings": "http://base"},
        ),
    ],
)
def test_one_base_url_means_relative_paths(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], servers: dict[str, str] | None
) -> None:
    from shared.web.openapi import _servers

    for name in ("API_BASE_URL", "MOVIES_API_URL", "REVIEWS_API_URL", "RATINGS_API_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    assert _servers() == servers
    get_settings.cache_clear()


def test_conflicting_schemas_or_operations_are_refused() -> None:
    a = document({"/x": {"get": {}}}, {"Problem": PROBLEM})
    b = document({"/y": {"get": {}}}, {"Problem": {"type": "string"}})
    with pytest.raises(MergeConflict, match="Problem"):
        merge({"movies": a, "ratings": b}, None)
    with pytest.raises(MergeConflict, match="GET /x"):
        merge({"movies": a, "ratings": document({"/x": {"get": {}}}, {})}, None)
