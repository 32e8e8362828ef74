"""infra.migrate's cloud-side steps against the embedded PostgreSQL: grants and pgAudit."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from infra import migrate
from shared.db import build_engine
from shared.settings import Settings


@pytest.fixture
def engine(database: str) -> sa.Engine:
    return build_engine(Settings(database_url=database))


def test_grant_gives_a_new_user_data_access_but_no_ddl(engine: sa.Engine) -> None:
    user = f"fn-{uuid.uuid4().hex[:8]}@p.iam"  # IAM user names need quoting
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE ROLE "{user}"'))
    migrate.grant(engine, [user])
    with engine.connect() as conn:
        can = conn.execute(
            sa.text(
                "SELECT has_table_privilege(:u, 'reviews', 'INSERT'),"
                " has_table_privilege(:u, 'reviews', 'TRUNCATE'),"
                " has_schema_privilege(:u, 'public', 'CREATE')"
            ),
            {"u": user},
        ).one()
    assert can == (True, False, False)


def test_app_users_reads_the_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_APP_USERS", " a@p.iam, ,b@p.iam ")
    assert migrate.app_users() == ["a@p.iam", "b@p.iam"]


def test_audit_is_left_alone_without_the_cloud_sql_flag(engine: sa.Engine) -> None:
    assert migrate.enable_audit(engine) is False


def test_audit_flag_without_the_extension_is_an_error(engine: sa.Engine, database: str) -> None:
    # what a Cloud SQL instance with cloudsql.enable_pgaudit = on looks like, minus pgaudit
    name = database.rsplit("/", 1)[1]
    with engine.begin() as conn:
        conn.execute(sa.text(f"ALTER DATABASE {name} SET cloudsql.enable_pgaudit = 'on'"))
    engine.dispose()
    with pytest.raises(RuntimeError, match="pgaudit extension is missing"):
        migrate.enable_audit(engine)
