"""HTML forms <-> API payloads, and API field errors -> Korean messages next to the fields.

The APIs own validation (one owner per rule): the console only reshapes what was typed
(blank means "not given") and explains the API's 422 answer per field in Korean.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter, ValidationError

from shared.schemas.reviews import Author

MOVIE_FIELDS = ("title", "release_date", "director", "genre", "poster_url", "synopsis")
# a signed-in writer's review carries the account's display name: the API sets its author
REVIEW_FIELDS = ("content",)
ACCOUNT_FIELDS = ("email", "display_name", "password")
GENERAL = "_form"  # errors that belong to no field

_AUTHOR: TypeAdapter[str] = TypeAdapter(Author)
# pydantic error types the APIs return, in words a user understands.
_MESSAGES = {
    "missing": "필수 항목입니다.",
    "string_too_short": "비어 있을 수 없습니다.",
    "string_too_long": "너무 깁니다.",
    "date_from_datetime_parsing": "날짜 형식이 올바르지 않습니다 (예: 2019-05-30).",
    "date_parsing": "날짜 형식이 올바르지 않습니다 (예: 2019-05-30).",
    "date_type": "날짜 형식이 올바르지 않습니다 (예: 2019-05-30).",
    "greater_than_equal": "허용 범위보다 작습니다.",
    "less_than_equal": "허용 범위보다 큽니다.",
    "int_parsing": "숫자를 입력하세요.",
    "extra_forbidden": "알 수 없는 항목입니다.",
    # Identity Platform's refusals of a sign-up (shared.identity.toolkit)
    "weak_password": "비밀번호가 너무 쉽습니다. 6자 이상으로 정하세요.",
    "missing_password": "비밀번호를 입력하세요.",
    "invalid_email": "올바른 이메일 주소가 아닙니다.",
    "missing_email": "이메일 주소를 입력하세요.",
    "invalid_display_name": "쓸 수 없는 이름입니다.",
}
_VALUE_ERRORS = {
    "must be an absolute http or https URL": "http:// 또는 https://로 시작하는 주소를 입력하세요.",
    "control characters": "제어 문자나 줄바꿈은 쓸 수 없습니다.",
    "lone surrogates": "올바르지 않은 문자가 있습니다.",
    "cannot be null": "비워 둘 수 없습니다.",
    "String should match pattern": "제어 문자나 줄바꿈은 쓸 수 없고, 보이는 글자가 있어야 합니다.",
}


def movie_payload(form: Mapping[str, str], *, partial: bool) -> dict[str, Any]:
    """Create: blank fields are left out. Edit: every field is sent; blank clears it."""
    out: dict[str, Any] = {}
    for name in MOVIE_FIELDS:
        value = (form.get(name) or "").strip()
        if value:
            out[name] = value
        elif partial and name != "title":
            out[name] = None
        elif name == "title":
            out[name] = value  # an empty title is the API's to reject, next to the field
    return out


def review_payload(movie_id: int, form: Mapping[str, str]) -> dict[str, Any]:
    return {"movie_id": movie_id, "content": form.get("content") or ""}


def review_update(form: Mapping[str, str]) -> dict[str, Any]:
    return {"content": form.get("content") or ""}


def display_name(form: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """The display name typed, stripped, and its error if the API would refuse it as a
    review's author (the account's name becomes the author of its reviews)."""
    raw = form.get("display_name") or ""
    try:
        return _AUTHOR.validate_python(raw), {}
    except ValidationError as invalid:
        error = invalid.errors()[0]
        problem = {"type": error["type"], "message": error["msg"]}
        return raw.strip(), {"display_name": _message(problem)}


def idempotency_key(form: Mapping[str, str]) -> str:
    """The key rendered into the form: a double submit of one form creates one review."""
    raw = form.get("request_id") or ""
    try:
        return f"console-{uuid.UUID(raw).hex}"
    except ValueError:
        return f"console-{uuid.uuid4().hex}"  # a tampered or missing key: a fresh one


def new_request_id() -> str:
    return str(uuid.uuid4())


def field_errors(errors: list[dict[str, Any]], known: tuple[str, ...]) -> dict[str, str]:
    """API 422 errors as {field: Korean message}; others under GENERAL."""
    out: dict[str, str] = {}
    for error in errors:
        name = str(error.get("field") or "").split(".")[0]
        out.setdefault(name if name in known else GENERAL, _message(error))
    return out


def _message(error: dict[str, Any]) -> str:
    kind = str(error.get("type") or "")
    detail = str(error.get("message") or "")
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    for fragment, text in _VALUE_ERRORS.items():
        if fragment in detail:
            return text
    return f"올바르지 않은 값입니다 ({detail})." if detail else "올바르지 않은 값입니다."
