"""Rendering of errors as RFC 9457 problem+json: the only place errors become HTTP."""

from __future__ import annotations

import json
import logging
from typing import Any

import flask
from pydantic import ValidationError

from shared import logs
from shared.errors import ApiError, ValidationFailed
from shared.schemas.common import HTTP_URL, MULTI_LINE, SINGLE_LINE

PATTERN_WORDS = {
    SINGLE_LINE: "must not contain control characters or line breaks",
    MULTI_LINE: "must not contain control characters",
    HTTP_URL: "must be an absolute http or https URL",
}

PROBLEM_TYPE_BASE = "https://errors.movie-reviews.dev/"
log = logging.getLogger(logs.REQUEST_LOGGER)


def field_errors(
    error: ValidationError, prefix: tuple[str | int, ...] = ()
) -> list[dict[str, Any]]:
    """Pydantic errors as {field, message, type}; the input value is never echoed back."""
    rows = []
    for item in error.errors(include_url=False):
        location = [str(part) for part in (*prefix, *item["loc"])]
        kind, message = _explained(item)
        rows.append({"field": ".".join(location) or None, "message": message, "type": kind})
    return rows


def _explained(item: Any) -> tuple[str, str]:
    """A text rule's pattern failure in words (the published pattern is the rule itself)."""
    pattern = (item.get("ctx") or {}).get("pattern")
    if item["type"] != "string_pattern_mismatch" or pattern not in PATTERN_WORDS:
        return item["type"], item["msg"]
    value = item.get("input")
    if pattern != HTTP_URL and isinstance(value, str) and not value.strip().strip("\ufeff"):
        return "string_too_short", "must contain visible text, not only spaces"
    return "value_error", PATTERN_WORDS[pattern]


def from_validation(error: ValidationError, where: str) -> ValidationFailed:
    prefix: tuple[str, ...] = () if where == "body" else (where,)
    return ValidationFailed(f"the {where} has invalid fields", errors=field_errors(error, prefix))


def render(error: ApiError, instance: str | None = None) -> flask.Response:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + error.type_slug,
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
    }
    if instance:
        body["instance"] = instance
    if error.errors is not None:
        body["errors"] = error.errors
    response = flask.Response(
        json.dumps(body, ensure_ascii=False),
        status=error.status,
        mimetype="application/problem+json",
    )
    response.headers.update(error.headers)
    return response


def render_unexpected(exc: BaseException, instance: str | None = None) -> flask.Response:
    """A 500 that says nothing about internals; the stack trace goes to the log only."""
    log.error("unhandled error", exc_info=exc)
    return render(ApiError("an unexpected error occurred; it has been logged"), instance)


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": ["string", "null"]},
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
}
