"""Reading a request: path ids, the query string and a strict JSON body, each validated."""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

import flask
from pydantic import BaseModel, ValidationError

from shared.errors import BadRequest, NotFound, PayloadTooLarge, UnsupportedMediaType
from shared.http import problems
from shared.settings import get_settings

MAX_ID = 2**63 - 1
_DIGITS = re.compile(r"[0-9]{1,19}")
T = TypeVar("T")


def path_id(segment: str) -> int:
    """A path id: a positive bigint, or there is no such resource (404)."""
    if _DIGITS.fullmatch(segment) and 1 <= int(segment) <= MAX_ID:
        return int(segment)
    raise NotFound(f"no resource has the id {segment[:40]!r}")


def parse_query(model: type[BaseModel], request: flask.Request) -> BaseModel:
    repeated = [key for key, values in request.args.lists() if len(values) > 1]
    if repeated:
        raise BadRequest(f"query parameter given more than once: {', '.join(repeated)}")
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as error:
        raise problems.from_validation(error, "query") from None


def read_body(request: flask.Request) -> bytes:
    """The raw JSON body, enforcing content type and size before and while reading."""
    limit = get_settings().max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"the body exceeds {limit} bytes")
    mimetype = request.mimetype or ""
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise UnsupportedMediaType("send the body as application/json")
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise UnsupportedMediaType("the body must be UTF-8 encoded")
    raw = request.stream.read(limit + 1)
    if len(raw) > limit:
        raise PayloadTooLarge(f"the body exceeds {limit} bytes")
    return raw


def parse_json(raw: bytes) -> str:
    """The body's text once it is strict JSON: UTF-8, no NaN/Infinity, no duplicate keys."""
    if not raw.strip():
        raise BadRequest("the request body is empty")
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        raise BadRequest(f"the body is not valid UTF-8 (byte {error.start})") from None
    try:
        json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
    except (json.JSONDecodeError, ValueError) as error:
        raise BadRequest(f"the body is not valid JSON: {error}") from None
    except RecursionError:
        raise BadRequest("the body is nested too deeply") from None
    return text


def parse_body(model: type[T], raw: bytes) -> T:
    """The body as `model`, validated strictly: JSON types only, no coercion (true is no id)."""
    text = parse_json(raw)
    assert issubclass(model, BaseModel)
    try:
        return model.model_validate_json(text, strict=True)
    except ValidationError as error:
        raise problems.from_validation(error, "body") from None


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        repeated = sorted({key for key in keys if keys.count(key) > 1})
        raise ValueError(f"duplicate keys: {', '.join(repeated)}")
    return dict(pairs)
