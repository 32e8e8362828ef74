from __future__ import annotations

import pytest

from tests.support import function_client


@pytest.fixture
def movies(database: str):
    return function_client("movies")
