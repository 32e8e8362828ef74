"""Each function's /openapi.json is pinned byte for byte: a change to the document is deliberate.

The golden files are the documents as served. After a deliberate change to a route or a
schema, regenerate them and review the diff:

    .venv/bin/python -m tests.functions.test_openapi_golden
"""

from __future__ import annotations

import difflib
import json

import pytest

from tests.support import FIXTURES, function_client

FUNCTIONS = ("movies", "reviews", "ratings")
GOLDEN = FIXTURES / "openapi"


def _served(name: str, path: str = "/openapi.json") -> bytes:
    response = function_client(name).get(path)
    assert response.status_code == 200
    served: bytes = response.data
    return served


def _readable(document: bytes) -> list[str]:
    return json.dumps(json.loads(document), indent=1, ensure_ascii=False).splitlines()


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("path", ["/openapi.json", "/{name}/openapi.json"])
def test_the_document_is_the_golden_one(name: str, path: str) -> None:
    served = _served(name, path.format(name=name))
    golden = (GOLDEN / f"{name}.json").read_bytes()
    if served != golden:
        diff = difflib.unified_diff(_readable(golden), _readable(served), "golden", "served")
        pytest.fail(f"{name}'s document changed:\n" + "\n".join(diff))


if __name__ == "__main__":  # regenerate the golden files
    import os

    os.environ.setdefault("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/unset")
    os.environ.setdefault("FIREBASE_PROJECT_ID", "demo-movie-reviews-test")
    for function in FUNCTIONS:
        (GOLDEN / f"{function}.json").write_bytes(_served(function))
