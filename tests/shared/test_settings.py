"""What each process needs from its environment, and nothing it does not (issue 19).

The settings object validates what every process shares; each entry point states what it
needs on top. Before this, any process with INSTANCE_CONNECTION_NAME but no CURSOR_SECRET was
refused, so migrate, both jobs and infra.aggregates could not start in the cloud at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from shared.settings import (
    DEV_CURSOR_SECRET,
    Need,
    Settings,
    SettingsError,
    get_settings,
    needs,
)
from tests.support import function_app

CLOUD_SQL = {"instance_connection_name": "p:asia-northeast3:kmr-dev-pg", "db_iam_user": "u@p.iam"}


def settings(**values: Any) -> Settings:
    """Settings from `values` alone (the test session's DATABASE_URL left out)."""
    return Settings(_env_file=None, **{"database_url": None, **values})


def test_a_cloud_process_without_a_cursor_key_starts() -> None:
    # what migrate, the jobs and infra.aggregates get from Terraform and Cloud Build
    cloud = settings(**CLOUD_SQL)
    assert cloud.cursor_secret.get_secret_value() == DEV_CURSOR_SECRET
    assert cloud.require(Need.DATABASE, process="infra.migrate") is cloud


def test_a_cloud_function_that_signs_cursors_refuses_the_development_key() -> None:
    with pytest.raises(SettingsError, match=r"function movies cannot start: .*CURSOR_SECRET"):
        settings(**CLOUD_SQL).require(Need.DATABASE, Need.CURSOR_KEY, process="function movies")
    own = settings(**CLOUD_SQL, cursor_secret="a-key-of-this-deployment")
    assert not own.missing(Need.DATABASE, Need.CURSOR_KEY)


def test_the_development_key_is_fine_off_the_cloud() -> None:
    local = settings(database_url="postgresql://postgres@127.0.0.1/app")
    assert not local.missing(Need.DATABASE, Need.CURSOR_KEY)


def test_a_process_that_needs_a_database_names_what_to_set() -> None:
    problems = settings().missing(Need.DATABASE, Need.CURSOR_KEY)
    assert problems == ["no database: set DATABASE_URL or INSTANCE_CONNECTION_NAME"]
    assert not settings().missing()  # the console needs neither


def test_one_coherent_database_is_still_checked_for_everyone() -> None:
    with pytest.raises(ValidationError, match="needs DB_IAM_USER"):
        settings(instance_connection_name="p:r:i")
    with pytest.raises(ValidationError, match="only one"):
        settings(database_url="postgresql://x", **CLOUD_SQL)


@pytest.fixture
def cloud_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """A function instance's Cloud SQL environment, without its cursor key."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("CURSOR_SECRET", raising=False)
    monkeypatch.setenv("INSTANCE_CONNECTION_NAME", CLOUD_SQL["instance_connection_name"])
    monkeypatch.setenv("DB_IAM_USER", CLOUD_SQL["db_iam_user"])
    # functions-framework writes both into os.environ; restored after the test
    monkeypatch.setenv("FUNCTION_TARGET", "")
    monkeypatch.setenv("FUNCTION_SIGNATURE_TYPE", "http")
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


@pytest.mark.parametrize("name", ["movies", "reviews", "ratings"])
def test_functions_that_sign_cursors_refuse_to_start_without_their_key(
    cloud_env: pytest.MonkeyPatch, name: str
) -> None:
    with pytest.raises(SettingsError, match=f"function {name} cannot start"):
        function_app(name)
    cloud_env.setenv("CURSOR_SECRET", "a-key-of-this-deployment")
    get_settings.cache_clear()
    assert function_app(name) is not None


def test_the_upload_handler_starts_without_a_cursor_key(cloud_env: pytest.MonkeyPatch) -> None:
    # same module as the reviews API, another entry point: only its own needs count
    assert function_app("reviews", "on_upload", "cloudevent") is not None


def test_needs_checks_only_the_entry_point_being_served(cloud_env: pytest.MonkeyPatch) -> None:
    def served() -> None: ...

    cloud_env.setenv("FUNCTION_TARGET", "another")
    assert needs(Need.CURSOR_KEY)(served) is served
    cloud_env.setenv("FUNCTION_TARGET", "served")
    with pytest.raises(SettingsError, match="function served cannot start"):
        needs(Need.CURSOR_KEY)(served)
