"""infra.migrate's cloud-side steps against the embedded PostgreSQL: grants, pgAudit, and a
rollback by revert (an older tree on a newer database)."""

from __future__ import annotations

import logging
import shutil
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory

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


# --- a rollback by revert: an older tree against a database a later release migrated -----

NEWER = '''"""a later release's expand migration (test only)"""

from alembic import op

revision = "{revision}"
down_revision = "{parent}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE TABLE rollback_probe (id bigint PRIMARY KEY)")


def downgrade() -> None:
    op.execute("DROP TABLE rollback_probe")
'''


def tree() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(migrate.MIGRATIONS))
    return ScriptDirectory.from_config(config)


def later_tree(where: Path, revision: str, parent: str, drop: tuple[str, ...] = ()) -> Path:
    """This tree's migrations plus one more revision on top of `parent` (minus `drop`)."""
    shutil.copytree(migrate.MIGRATIONS, where, ignore=shutil.ignore_patterns("__pycache__"))
    for name in drop:
        next((where / "versions").glob(f"{name}_*.py")).unlink()
    (where / "versions" / f"{revision}_later.py").write_text(
        NEWER.format(revision=revision, parent=parent)
    )
    return where


def table_exists(engine: sa.Engine, name: str) -> bool:
    with engine.connect() as conn:
        return bool(
            conn.execute(sa.text("SELECT to_regclass(:t) IS NOT NULL"), {"t": name}).scalar()
        )


def test_every_run_records_the_chain_it_leaves_the_database_on(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        edges = set(conn.execute(sa.text("SELECT revision, parent FROM alembic_lineage")).tuples())
    script = tree()
    chain = {(sc.revision, sc.down_revision) for sc in script.walk_revisions() if sc.down_revision}
    assert edges == chain
    assert migrate.current(engine) == script.get_current_head()


def test_an_older_tree_leaves_a_newer_database_alone_and_still_grants(
    engine: sa.Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    head = tree().get_current_head()
    assert head is not None
    assert migrate.upgrade(engine, migrations=later_tree(tmp_path / "m", "t9001", head)) == []
    assert migrate.current(engine) == "t9001" and table_exists(engine, "rollback_probe")
    user = f"fn-{uuid.uuid4().hex[:8]}@p.iam"
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE ROLE "{user}"'))

    with caplog.at_level(logging.WARNING, logger="infra.migrate"):
        migrate.upgrade_and_grant(engine, [user])  # the reverted tree's pipeline step

    assert migrate.current(engine) == "t9001" and table_exists(engine, "rollback_probe")
    assert "t9001, ahead of this tree" in caplog.text
    with engine.connect() as conn:
        granted = conn.execute(
            sa.text("SELECT has_table_privilege(:u, 'reviews', 'INSERT')"), {"u": user}
        ).scalar()
    assert granted is True
    # and the later tree, deployed again, finds nothing to do
    assert migrate.upgrade(engine, migrations=tmp_path / "m") == []


def test_an_unknown_revision_of_another_history_fails_clearly(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'ffff'"))
    with pytest.raises(migrate.UnknownRevision, match="revision ffff, which this tree does not"):
        migrate.upgrade_and_grant(engine, [])
    assert migrate.current(engine) == "ffff"  # nothing was touched


def test_a_sibling_branch_does_not_pass_for_newer(engine: sa.Engine, tmp_path: Path) -> None:
    """A revision whose recorded parent is an ancestor of this head, not the head itself."""
    script = tree()
    head = script.get_current_head()
    assert head is not None
    parent = script.get_revision(head).down_revision
    assert isinstance(parent, str)
    migrate.downgrade(engine, parent)
    sibling = later_tree(tmp_path / "m", "t9002", parent, drop=(head,))
    migrate.upgrade(engine, migrations=sibling)
    assert migrate.current(engine) == "t9002"
    with pytest.raises(migrate.UnknownRevision, match=f"head {head}"):
        migrate.upgrade(engine)
