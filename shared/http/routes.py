"""Routes: one operation each, as its handler's signature declares it.

A handler declares what it takes in its signature and receives it validated: path
parameters by name (`<id:movie_id>` in the rule, `movie_id: int` in the signature),
`body: SomeModel` (a strict JSON body), `query: SomeModel` (the query string), and who is
calling: `principal: Principal` (on a route with `auth`: the verified, allowed caller) or
`caller: Caller` (on a public route that needs an identity only sometimes). What it
returns is its success response: a model, `Reply[Model]` for another status or headers, or
None for 204. The same declaration drives validation (api.py) and the document (openapi.py).
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass, replace
from types import NoneType
from typing import Any, Required, TypedDict, Unpack

from pydantic import BaseModel

from shared.http.credentials import Caller
from shared.http.replies import Reply
from shared.identity.principal import Principal
from shared.identity.roles import Permission

_PATH_PARAM = re.compile(r"<(?:\w+:)?(\w+)>")


@dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    """One operation, as its handler's signature declares it."""

    rule: str
    method: str
    handler: Callable[..., Any]
    summary: str
    status: int
    path_params: tuple[str, ...] = ()
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: Any = None  # the success body's type; None: no content
    auth: Permission | None = None  # what the caller must be allowed (auth.py); None: public
    caller: str | None = None  # the handler's parameter for who calls: "caller", "principal"
    errors: tuple[int, ...] = ()  # statuses the handler itself may answer with
    idempotent: bool = False  # an Idempotency-Key replays the first response
    description: str = ""


class RouteOptions(TypedDict, total=False):
    """What a route declares beside its handler's signature (Api.get(rule, **options))."""

    summary: Required[str]
    status: int  # the success status; 200 by default, 204 for a handler returning None
    auth: Permission
    errors: tuple[int, ...]
    idempotent: bool
    description: str


def describe(
    rule: str, method: str, handler: Callable[..., Any], **options: Unpack[RouteOptions]
) -> Route:
    """The route a handler's signature declares; a signature the layer cannot serve fails here."""
    hints = typing.get_type_hints(handler)
    in_rule = set(_PATH_PARAM.findall(rule))
    path_params: list[str] = []
    body = query = None
    caller: str | None = None
    for name in inspect.signature(handler).parameters:
        kind = hints.get(name)
        if name in in_rule and kind is int:
            path_params.append(name)
        elif name in ("body", "query") and isinstance(kind, type) and issubclass(kind, BaseModel):
            body, query = (kind, query) if name == "body" else (body, kind)
        elif (name, kind) in (("caller", Caller), ("principal", Principal)):
            caller = name
        else:
            raise TypeError(f"{handler.__name__}: cannot supply parameter {name!r} ({kind})")
    if set(path_params) != in_rule:
        raise TypeError(f"{handler.__name__}: takes no parameter for {in_rule - set(path_params)}")
    response = _response_type(hints.get("return", NoneType))
    declared = Route(
        rule=rule,
        method=method,
        handler=handler,
        summary=options["summary"],
        status=204 if response is None else 200,
        path_params=tuple(path_params),
        body=body,
        query=query,
        response=response,
        caller=caller,
    )
    route = replace(declared, **options)
    if caller == "principal" and route.auth is None:
        raise TypeError(f"{handler.__name__}: a principal only exists on a route with auth")
    return route


def _response_type(returned: Any) -> Any:
    """The success body's type a return annotation declares (None: no content)."""
    if typing.get_origin(returned) is Reply:
        return typing.get_args(returned)[0]
    return None if returned is NoneType else returned
