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


@pytest.fixture
def one_base(monkeypatch):
    monkeypatch.setenv("API_BASE_URL", "http://base")
    for name in ("MOVIES_API_URL", "REVIEWS_API_URL", "RATINGS_API_URL"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_paths_tagged_probes_dropped_identical_schemas_shared(one_base):
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
    merged = merge({"movies": movies, "ratings": ratings}, {})
    assert list(merged["paths"]) == ["/movies", "/ratings"]
    assert merged["paths"]["/movies"]["get"]["tags"] == ["movies"]
    assert set(merged["components"]["schemas"]) == {"Movie", "Problem"}
    assert merged["servers"] == [{"url": "/"}]
    assert [t["name"] for t in merged["tags"]] == ["movies", "ratings"]


def test_functions_on_their_own_urls_get_per_path_servers(monkeypatch):
    monkeypatch.delenv("API_BASE_URL", raising=False)
    monkeypatch.setenv("MOVIES_API_URL", "https://movies.run.app")
    get_settings.cache_clear()
    merged = merge(
        {"movies": document({"/movies": {"get": {}}}, {})}, {"movies": "https://movies.run.app"}
    )
    assert merged["paths"]["/movies"]["servers"] == [{"url": "https://movies.run.app"}]
    get_settings.cache_clear()


def test_conflicting_schemas_or_operations_are_refused(one_base):
    a = document({"/x": {"get": {}}}, {"Problem": PROBLEM})
    b = document({"/y": {"get": {}}}, {"Problem": {"type": "string"}})
    with pytest.raises(MergeConflict, match="Problem"):
        merge({"movies": a, "ratings": b}, {})
    with pytest.raises(MergeConflict, match="GET /x"):
        merge({"movies": a, "ratings": document({"/x": {"get": {}}}, {})}, {})
