"""The console's settings: where the APIs are, its limits, and no database needed."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from shared.settings import Need, Settings, SettingsError


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


CURSOR_KEY = "a-cursor-key-of-this-deployment"


def test_the_console_key_is_its_own_or_derived_from_the_cursor_key() -> None:
    assert settings().console_key is None  # the development cursor key is no key
    derived = settings(cursor_secret=CURSOR_KEY).console_key
    assert derived is not None and len(derived) == 32
    assert CURSOR_KEY.encode() not in derived  # derived, never the cursor key itself
    assert settings(cursor_secret=CURSOR_KEY).console_key == derived  # every instance alike
    explicit = settings(web_secret_key="the-console-key", cursor_secret=CURSOR_KEY)
    assert explicit.console_key == b"the-console-key"


def test_the_console_on_cloud_run_needs_one_key_for_every_instance() -> None:
    with pytest.raises(SettingsError, match="WEB_SECRET_KEY or its own CURSOR_SECRET"):
        settings(k_service="kmr-dev-web").require(Need.CONSOLE_KEY, process="web")
    settings(k_service="kmr-dev-web", cursor_secret=CURSOR_KEY).require(
        Need.CONSOLE_KEY, process="web"
    )
    settings().require(Need.CONSOLE_KEY, process="web")  # locally a per-process key will do


def test_id_tokens_are_off_unless_the_functions_are_private() -> None:
    assert settings().api_id_tokens is False
    assert settings(api_id_tokens="true").api_id_tokens is True
