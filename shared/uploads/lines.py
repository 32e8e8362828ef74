"""Turn raw records into validated upload lines or reasons to reject them."""

from __future__ import annotations

import json
from dataclasses import dataclass

from pydantic import ValidationError

from shared.schemas.common import LONE_SURROGATE
from shared.schemas.reviews import UploadLine
from shared.uploads.records import OPTIONAL, RawRecord, clip


@dataclass(frozen=True)
class Valid:
    line: int
    item: UploadLine


@dataclass(frozen=True)
class Rejected:
    line: int
    reason: str
    raw: str


def parse(record: RawRecord) -> Valid | Rejected:
    """Validate one record with the same UploadLine schema the API uses."""
    if record.problem is not None or record.payload is None:
        return Rejected(record.line, record.problem or "empty line", clip(record.raw))
    if isinstance(record.payload, str):
        fields = _json_object(record.payload)
        if isinstance(fields, str):
            return Rejected(record.line, fields, clip(record.raw))
    else:
        # an empty CSV cell means "not given" for the optional columns
        fields = {k: v for k, v in record.payload.items() if v.strip() or k not in OPTIONAL}
    try:
        return Valid(record.line, UploadLine.model_validate(fields))
    except ValidationError as error:
        return Rejected(record.line, describe(error), clip(record.raw))


def _json_object(text: str) -> dict[str, object] | str:
    """The parsed object, or the reason it is not one."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        return f"invalid JSON: {error.msg} at column {error.colno}"
    except RecursionError:
        return "invalid JSON: nested too deeply"
    if not isinstance(value, dict):
        return "invalid JSON: a line must be an object"
    return value


def describe(error: ValidationError) -> str:
    """One readable sentence per failed field: 'missing field author; content: ...'."""
    parts = []
    for item in error.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in item["loc"]) or "line"
        if item["type"] == "missing":
            parts.append(f"missing field {where}")
        elif item["type"] == "extra_forbidden":
            parts.append(f"unknown field {where}")
        elif item["type"] == "string_unicode":  # what storable_text says, in its words
            parts.append(f"{where}: {LONE_SURROGATE}")
        else:
            parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)
