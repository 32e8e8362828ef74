"""One OpenAPI document for the base URL: the movies, reviews and ratings documents merged.

Each function serves its own document at /openapi.json; the console fetches them through its
client, merges paths and component schemas, and caches the result per instance for a while
(a function's document only changes with a deploy). Per-function probes (/healthz, /readyz,
/openapi.json) are not part of the base URL's API and are left out.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

from shared.lazy import Lazy
from shared.settings import get_settings
from shared.web import api
from shared.web.client import Function, submit

FUNCTIONS: tuple[Function, ...] = ("movies", "reviews", "ratings")
PROBES = {"/healthz", "/readyz"}  # and every .../openapi.json
CACHE_SECONDS = 300.0
TITLE = "영화 리뷰 API (movies + reviews + ratings)"
DESCRIPTION = """Korean movie reviews scored by a sentiment model at write time.

Reads are public. Writes need an API key in the `X-API-Key` header (use **Authorize**).
Errors are RFC 9457 `application/problem+json`. Lists page with `limit` and an opaque
`cursor` (pass `next_cursor` back unchanged)."""


class MergeConflict(ValueError):
    """Two documents define the same path+method or the same schema name differently."""


def merged_document() -> dict[str, Any]:
    """The merged document, fetched at most once per CACHE_SECONDS per instance."""
    return _merged.get()


def reset() -> None:
    _merged.reset()


def _fetch_and_merge() -> dict[str, Any]:
    futures: list[Future[dict[str, Any]]] = [submit(api.openapi, name) for name in FUNCTIONS]
    documents = dict(zip(FUNCTIONS, (f.result() for f in futures), strict=True))
    return merge(documents, _servers())


_merged = Lazy(_fetch_and_merge, ttl=CACHE_SECONDS)


def _servers() -> dict[str, str] | None:
    """Where a browser calls each function: None when one base URL (router, load balancer)
    serves the console and every function, so the document's paths are relative; else each
    function's own URL."""
    settings = get_settings()
    own = (settings.movies_api_url, settings.reviews_api_url, settings.ratings_api_url)
    if settings.api_base_url and not any(own):
        return None
    return {name: settings.api_url(name) for name in FUNCTIONS}


def merge(documents: dict[str, dict[str, Any]], servers: dict[str, str] | None) -> dict[str, Any]:
    """Merge documents keyed by function name; identical schemas are shared, others clash.
    `servers` gives each function's URL when they do not share the base URL."""
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {}
    security: dict[str, Any] = {}
    tags = []
    for name, document in documents.items():
        tags.append({"name": name, "description": document.get("info", {}).get("description")})
        for path, item in document.get("paths", {}).items():
            if path in PROBES or path.endswith("/openapi.json"):
                continue
            target = paths.setdefault(path, {})
            for method, operation in item.items():
                if method in target:
                    raise MergeConflict(f"{method.upper()} {path} is defined twice")
                target[method] = {**operation, "tags": [name]}
            if servers is not None:
                target["servers"] = [{"url": servers[name]}]
        components = document.get("components", {})
        for key, schema in components.get("schemas", {}).items():
            if key in schemas and schemas[key] != schema:
                raise MergeConflict(f"schema {key} differs between documents")
            schemas[key] = schema
        security.update(components.get("securitySchemes", {}))
    return {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": "1.0.0", "description": DESCRIPTION},
        "servers": [{"url": "/"}],
        "tags": tags,
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": dict(sorted(schemas.items())), "securitySchemes": security},
    }
