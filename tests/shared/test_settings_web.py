"""The console's settings: where the APIs are, its limits, and no database needed."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from shared.settings import Settings


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, database_url=None, **values)


def test_a_function_url_wins_over_the_base_url() -> None:
    s = settings(api_base_url="http://base/", reviews_api_url="https://reviews.run.app/")
    assert s.api_url("movies") == "http://base"
    assert s.api_url("reviews") == "https://reviews.run.app"


def test_no_api_url_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="API_BASE_URL or RATINGS_API_URL"):
        settings().api_url("ratings")


@pytest.mark.parametrize("rate", ["0/minute", "10/fortnight", "ten/minute", "10 / minute", ""])
def test_rate_limits_are_checked_at_start_up(rate: str) -> None:
    with pytest.raises(ValidationError):
        settings(web_write_rate_limit=rate)


def test_the_console_needs_no_database_but_two_are_refused() -> None:
    assert settings().database_url is None
    with pytest.raises(ValidationError, match="only one"):
        Settings(database_url="postgresql://x", instance_connection_name="p:r:i")
