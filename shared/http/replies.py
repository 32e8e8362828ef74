"""What a handler returns (Reply) and what goes on the wire (Rendered), and the JSON between."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Reply(Generic[T]):
    """A success response with a status or headers of its own."""

    body: T
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Rendered:
    """A response rendered to what is sent: what idempotency stores and a replay sends back
    byte for byte."""

    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)
    replayed: bool = False


def render(result: Any, status: int) -> Rendered:
    """A handler's result as sent: a Reply as it says, anything else with `status`;
    a None body is no content."""
    reply = result if isinstance(result, Reply) else Reply(result, status)
    headers = dict(reply.headers)
    if reply.body is None:
        return Rendered(reply.status, "", headers)
    headers["Content-Type"] = "application/json"
    return Rendered(reply.status, to_json(reply.body), headers)


def to_json(body: Any) -> str:
    if isinstance(body, BaseModel):
        return body.model_dump_json()
    return json.dumps(body, ensure_ascii=False, default=str)
