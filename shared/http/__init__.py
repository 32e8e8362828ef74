"""The HTTP layer of every API function, on functions-framework: one module per job.

- api.py: Api, one function's routes, and the path a request takes through them;
- routes.py: Route, what a handler's signature declares (drives validation and the document);
- parsing.py: path ids, the query string, a strict JSON body;
- auth.py: who may call a route (its permission, the write rate limit) and how that is
  documented; credentials.py: the caller (X-API-Key, a bearer token, or no one);
- replies.py: Reply (a handler's result) and Rendered (what is sent);
- idempotency.py: Idempotency-Key replays; cors.py: CORS; problems.py: errors as
  problem+json; openapi.py: the OpenAPI document; framework.py: the Flask glue.

Request lines and unexpected errors are logged as "shared.http" (monitoring filters on it).
"""

from __future__ import annotations

from shared.http.api import Api
from shared.http.credentials import Caller
from shared.http.parsing import parse_body, parse_json, read_body
from shared.http.replies import Reply, to_json

__all__ = ["Api", "Caller", "Reply", "parse_body", "parse_json", "read_body", "to_json"]
