"""The one classification of failures: data, infrastructure or bug, from real errors."""

from __future__ import annotations

from typing import Any

import pytest
import requests
import sqlalchemy as sa
from google.api_core import exceptions

from shared import db, failures
from shared.errors import DatabaseUnavailable, ModelUnavailable
from shared.failures import Failure
from tests.conftest import use_database

google_errors: Any = exceptions  # untyped in google-api-core


def _error_of(sql: str) -> BaseException:
    with pytest.raises(sa.exc.DBAPIError) as caught, db.transaction() as conn:
        conn.execute(sa.text(sql))
    return caught.value


@pytest.mark.parametrize(
    ("sql", "code", "kind"),
    [
        ("SELECT 1/0", "22012", Failure.DATA),
        ("SELECT CAST('0001-01-01 BC' AS date) + 2147483647", "22008", Failure.DATA),
        ("INSERT INTO reviews (movie_id) VALUES (-1)", "23502", Failure.DATA),
        ("SELECT pg_sleep(2)", "57014", Failure.INFRASTRUCTURE),
        ("SELECT no_such_column FROM movies", "42703", Failure.BUG),
    ],
)
def test_database_errors_by_sqlstate_class(
    database: str, monkeypatch: pytest.MonkeyPatch, sql: str, code: str, kind: Failure
) -> None:
    use_database(monkeypatch, database, DB_STATEMENT_TIMEOUT_MS="200")
    error = _error_of(sql)
    assert failures.sqlstate(error) == code
    assert failures.classify(error) is kind


def test_a_deadlock_is_infrastructure_and_the_database_gone_is_unreachable(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_database(monkeypatch, database)
    deadlock = _error_of("DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '40P01'; END $$")
    assert failures.classify(deadlock) is Failure.INFRASTRUCTURE
    use_database(monkeypatch, "postgresql://postgres@127.0.0.1:1/gone")
    with pytest.raises(DatabaseUnavailable) as gone:
        db.ping()
    assert failures.unreachable(gone.value.__cause__)  # type: ignore[arg-type]
    assert failures.classify(gone.value) is Failure.INFRASTRUCTURE


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (google_errors.ServiceUnavailable("storage 503"), Failure.INFRASTRUCTURE),
        (google_errors.InternalServerError("storage 500"), Failure.INFRASTRUCTURE),
        (google_errors.TooManyRequests("storage 429"), Failure.INFRASTRUCTURE),
        (google_errors.Forbidden("storage 403"), Failure.BUG),
        (requests.ConnectionError("reset"), Failure.INFRASTRUCTURE),
        (ConnectionResetError(), Failure.INFRASTRUCTURE),
        (ModelUnavailable("no model"), Failure.INFRASTRUCTURE),
        (KeyError("a bug"), Failure.BUG),
    ],
)
def test_other_errors(error: BaseException, kind: Failure) -> None:
    assert failures.classify(error) is kind


def test_the_cause_decides_for_a_wrapped_error() -> None:
    try:
        try:
            raise requests.Timeout("read timed out")
        except requests.Timeout as timeout:
            raise ValueError("while reading the object") from timeout
    except ValueError as wrapped:
        assert failures.classify(wrapped) is Failure.INFRASTRUCTURE
