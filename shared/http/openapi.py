"""OpenAPI 3.1 generated from routes: the handlers' signatures and pydantic models.

Every rule the server enforces on a request is in the schemas it validates with (lengths,
patterns, bounds, closed objects), so a request that fits the document is accepted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema

from shared.http import auth, idempotency
from shared.http.parsing import MAX_ID
from shared.http.problems import PROBLEM_SCHEMA
from shared.http.routes import Route

REF = "#/components/schemas/{model}"
ERROR_TEXT = {
    400: "Malformed request (bad JSON, duplicate keys, bad UTF-8, bad cursor, repeated "
    "parameter, both X-API-Key and Authorization sent)",
    401: "No credentials, or a token that is malformed, expired, revoked, of another project "
    "or of a disabled account (WWW-Authenticate names the schemes)",
    403: "The credentials do not allow this (an invalid X-API-Key, a role without the "
    "permission, another account's review)",
    404: "Not found",
    409: "Conflict (an Idempotency-Key reused with another request)",
    413: "Body too large",
    415: "Body is not application/json",
    422: "Invalid fields",
    429: "Too many requests (at once, or writes per account); retry after Retry-After seconds",
    503: "A dependency is unavailable; retry after Retry-After seconds",
}
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer", "minimum": 1}, "required": True}}
CHALLENGE = {"WWW-Authenticate": {"schema": {"type": "string"}, "required": True}}
_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")


def build_document(title: str, description: str, routes: Sequence[Route]) -> dict[str, Any]:
    """The document of `routes`, in their order."""
    models = _models(routes)
    keys, components = models_json_schema(
        [(model, "validation") for model in models], ref_template=REF
    )
    schemas = dict(components.get("$defs", {}))
    schemas["Problem"] = PROBLEM_SCHEMA
    refs = {model: keys[(model, "validation")] for model in models}
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        path = _PARAM.sub(r"{\2}", route.rule)
        paths.setdefault(path, {})[route.method.lower()] = _operation(route, refs)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1.0.0", "description": description},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": auth.SECURITY_SCHEMES,
        },
    }


def _models(routes: Sequence[Route]) -> list[type[BaseModel]]:
    seen: list[type[BaseModel]] = []
    for route in routes:
        for model in (route.body, route.query, route.response):
            if isinstance(model, type) and issubclass(model, BaseModel) and model not in seen:
                seen.append(model)
    return seen


def _operation(route: Route, refs: dict[type[BaseModel], Any]) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": route.summary,
        "operationId": route.handler.__name__.lstrip("_"),
        "parameters": _path_params(route) + _query_params(route) + _header_params(route),
        "responses": {str(route.status): _success(route, refs)},
    }
    if route.description:
        op["description"] = route.description
    if route.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[route.body]}},
        }
    op["security"] = auth.security(route)
    for status in sorted(_error_statuses(route)):
        response: dict[str, Any] = {
            "description": ERROR_TEXT[status],
            "content": {
                "application/problem+json": {"schema": {"$ref": REF.format(model="Problem")}}
            },
        }
        if status in (429, 503):
            response["headers"] = RETRY_AFTER
        if status == 401:
            response["headers"] = CHALLENGE
        op["responses"][str(status)] = response
    return op


def _error_statuses(route: Route) -> set[int]:
    statuses = set(route.errors) | {400}  # both credentials at once, on every route
    if route.body is not None:
        statuses |= {400, 413, 415, 422}
    if route.query is not None:
        statuses |= {400, 422}
    if route.idempotent:
        statuses |= {400, 409}
    if route.auth is not None:  # refused, forbidden, over the write limit, Identity Platform down
        statuses |= {401, 403, 429, 503}
    if route.path_params:
        statuses.add(404)
    return statuses


def _success(route: Route, refs: dict[type[BaseModel], Any]) -> dict[str, Any]:
    if route.response is None:
        return {"description": "No content"}
    schema = refs.get(route.response) or TypeAdapter(route.response).json_schema(ref_template=REF)
    described: dict[str, Any] = {
        "description": "OK" if route.status == 200 else "Created",
        "content": {"application/json": {"schema": schema}},
    }
    if route.status == 201:
        described["headers"] = {
            "Location": {"schema": {"type": "string"}, "description": "the new resource"}
        }
    return described


def _path_params(route: Route) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
        }
        for name in route.path_params
    ]


def _query_params(route: Route) -> list[dict[str, Any]]:
    if route.query is None:
        return []
    schema = route.query.model_json_schema(ref_template=REF)
    required = set(schema.get("required", []))
    return [
        {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": _not_null(prop),
            **({"description": prop["description"]} if "description" in prop else {}),
        }
        for name, prop in schema.get("properties", {}).items()
    ]


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """An optional query parameter is absent, never null: drop pydantic's null branch."""
    options = [s for s in schema.get("anyOf", []) if s.get("type") != "null"]
    if len(options) == 1:
        rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default", "description")}
        schema = {**options[0], **rest}
    return {k: v for k, v in schema.items() if k not in ("title", "description")}


def _header_params(route: Route) -> list[dict[str, Any]]:
    if not route.idempotent:
        return []
    return [
        {
            "name": idempotency.HEADER,
            "in": "header",
            "required": False,
            "description": "replays the first response to a retry with the same key and "
            "request (24 hours); another request with the key is a 409",
            "schema": {"type": "string", "pattern": idempotency.KEY_PATTERN},
        }
    ]
