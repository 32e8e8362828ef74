"""OpenAPI 3.1 generated from an Api's routes and their pydantic models."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema

from shared.problems import PROBLEM_SCHEMA

if TYPE_CHECKING:
    from shared.http import Api, Route

REF = "#/components/schemas/{model}"
ERROR_TEXT = {
    400: "Malformed request (bad JSON, bad UTF-8, bad cursor)",
    401: "Missing X-API-Key",
    403: "Invalid X-API-Key",
    404: "Not found",
    409: "Conflict",
    413: "Body too large",
    415: "Body is not application/json",
    422: "Invalid fields",
    503: "A dependency is unavailable; retry after Retry-After seconds",
}
_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")


def build_document(api: Api) -> dict[str, Any]:
    models = _models(api.routes)
    keys, components = models_json_schema(
        [(model, "validation") for model in models], ref_template=REF
    )
    schemas = dict(components.get("$defs", {}))
    schemas["Problem"] = PROBLEM_SCHEMA
    refs = {model: keys[(model, "validation")] for model in models}
    paths: dict[str, dict[str, Any]] = {}
    for route in api.routes:
        path = _PARAM.sub(r"{\2}", route.rule)
        paths.setdefault(path, {})[route.method.lower()] = _operation(route, refs)
    return {
        "openapi": "3.1.0",
        "info": {"title": api.title, "version": "1.0.0", "description": api.description},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}},
        },
    }


def _models(routes: list[Route]) -> list[type[BaseModel]]:
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
        "parameters": _path_params(route) + _query_params(route, refs),
        "responses": {str(route.status): _success(route, refs)},
    }
    if route.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[route.body]}},
        }
    statuses = set(route.errors)
    if route.body is not None:
        statuses |= {400, 413, 415, 422}
    if route.query is not None:
        statuses |= {400, 422}
    if route.auth:
        statuses |= {401, 403}
        op["security"] = [{"apiKey": []}]
    if "<" in route.rule:
        statuses.add(404)
    for status in sorted(statuses):
        op["responses"][str(status)] = {
            "description": ERROR_TEXT[status],
            "content": {
                "application/problem+json": {"schema": {"$ref": REF.format(model="Problem")}}
            },
        }
    return op


def _success(route: Route, refs: dict[type[BaseModel], Any]) -> dict[str, Any]:
    if route.status == 204:
        return {"description": "No content"}
    if route.response is None:
        return {"description": "OK", "content": {"application/json": {"schema": {}}}}
    schema = refs.get(route.response) or TypeAdapter(route.response).json_schema(ref_template=REF)
    return {"description": "OK", "content": {"application/json": {"schema": schema}}}


def _path_params(route: Route) -> list[dict[str, Any]]:
    params = []
    for converter, name in _PARAM.findall(route.rule):
        kind = (
            {"type": "integer", "minimum": 1} if converter in ("id", "int") else {"type": "string"}
        )
        params.append({"name": name, "in": "path", "required": True, "schema": kind})
    return params


def _query_params(route: Route, refs: dict[type[BaseModel], Any]) -> list[dict[str, Any]]:
    if route.query is None:
        return []
    schema = route.query.model_json_schema(ref_template=REF)
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": prop}
        for name, prop in schema.get("properties", {}).items()
    ]
