"""Apply the versioned SQL migrations (Alembic) to the configured database.

Run by `make run` locally and by a Cloud Build step through the connector in the cloud;
never at function cold start. Usage:

    python -m infra.migrate [upgrade]      migrations, pgAudit where enabled, grants to DB_APP_USERS
    python -m infra.migrate grant          only the grants (after an apply created new users)
    python -m infra.migrate downgrade REV | current

A rollback by revert runs an older tree against a database a later release already migrated:
its revision is one this tree does not know. Migrations are expand/contract (a release never
removes what the release before it still uses), so the older code runs on the newer schema,
and upgrade leaves such a database as it is (and still grants), provided the database's
recorded lineage (infra/lineage.py) leads from its revision back to this tree's head. An
unknown revision of any other history stops the run with an error.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError

from infra import lineage
from shared.db import build_engine
from shared.settings import Need, Settings

MIGRATIONS = Path(__file__).parent / "migrations"
LOCK_ID = 7_240_001  # one migrator at a time, whatever starts it
log = logging.getLogger("infra.migrate")


class UnknownRevision(RuntimeError):
    """The database is at a revision that is neither this tree's nor a descendant of its head."""


def _config(connection: sa.Connection, migrations: Path = MIGRATIONS) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations))
    config.attributes["connection"] = connection
    return config


def _knows(script: ScriptDirectory, revision: str) -> bool:
    try:
        script.get_revision(revision)
    except CommandError:
        return False
    return True


def ahead_of_tree(conn: sa.Connection, script: ScriptDirectory) -> list[str]:
    """The database's revisions that are newer than this tree (empty: none); raises for
    revisions this tree does not know and that do not descend from its head."""
    head = script.get_current_head()
    unknown = [
        r for r in MigrationContext.configure(conn).get_current_heads() if not _knows(script, r)
    ]
    for revision in unknown:
        if head is None or not lineage.descends_from(conn, revision, head):
            raise UnknownRevision(
                f"the database is at revision {revision}, which this tree does not know and "
                f"whose recorded lineage does not lead back to this tree's head {head}: it is "
                "not a later release of this schema. Run the code that migrated it, or restore."
            )
    return unknown


def upgrade(engine: sa.Engine, revision: str = "head", migrations: Path = MIGRATIONS) -> list[str]:
    """Upgrade to `revision`; a database ahead of this tree is left alone (its revisions are
    returned, empty otherwise)."""
    with engine.begin() as conn:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": LOCK_ID})
        config = _config(conn, migrations)
        ahead = ahead_of_tree(conn, ScriptDirectory.from_config(config))
        if not ahead:
            command.upgrade(config, revision)
    if ahead:
        log.warning(
            "database at revision %s, ahead of this tree (it descends from this tree's head): "
            "schema left as it is; migrations are expand/contract, so this code runs on it",
            ", ".join(ahead),
        )
    return ahead


def upgrade_database(url: str) -> None:
    """Upgrade the database at ``url`` to head through a short-lived pool (local stand-ins)."""
    engine = build_engine(Settings(database_url=url))
    try:
        upgrade(engine)
    finally:
        engine.dispose()


def downgrade(engine: sa.Engine, revision: str) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": LOCK_ID})
        command.downgrade(_config(conn), revision)


def current(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def grant(engine: sa.Engine, users: list[str]) -> None:
    """Give the functions' IAM database users data (not DDL) rights on every table."""
    with engine.begin() as conn:
        for user in users:
            role = conn.dialect.identifier_preparer.quote(user)
            conn.execute(
                sa.text(
                    f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public "
                    f"TO {role};"
                    f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}"
                )
            )


def enable_audit(engine: sa.Engine) -> bool:
    """Create the pgaudit extension where the instance has the flag on (Cloud SQL).

    The cloudsql.enable_pgaudit flag only loads the library; nothing is audited until the
    extension exists. Needs cloudsqlsuperuser (the deployer's database role). Returns whether
    auditing is on; local databases, which have no such flag, are left alone.
    """
    with engine.begin() as conn:
        flag = conn.execute(sa.text("SELECT current_setting('cloudsql.enable_pgaudit', true)"))
        if flag.scalar() != "on":
            return False
        available = conn.execute(
            sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pgaudit'")
        ).first()
        if available is None:
            raise RuntimeError("cloudsql.enable_pgaudit is on but the pgaudit extension is missing")
        conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pgaudit"))
    return True


def app_users() -> list[str]:
    return [u.strip() for u in os.environ.get("DB_APP_USERS", "").split(",") if u.strip()]


def upgrade_and_grant(engine: sa.Engine, users: list[str], revision: str = "head") -> None:
    """The pipeline's step: migrations (none on a newer database), pgAudit, the grants."""
    upgrade(engine, revision)
    if enable_audit(engine):
        log.info("pgaudit extension present")
    grant(engine, users)
    log.info("database at revision %s", current(engine))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "action", nargs="?", default="upgrade", choices=["upgrade", "grant", "downgrade", "current"]
    )
    parser.add_argument("revision", nargs="?", default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    # the database only: migrate serves no cursors, so no CURSOR_SECRET (issue 19)
    engine = build_engine(Settings().require(Need.DATABASE, process="infra.migrate"))
    if args.action == "current":
        print(current(engine))
    elif args.action == "downgrade":
        downgrade(engine, args.revision or "-1")
    elif args.action == "grant":
        grant(engine, app_users())
        log.info("granted data access to %s", ", ".join(app_users()) or "nobody")
    else:
        upgrade_and_grant(engine, app_users(), args.revision or "head")
    engine.dispose()


if __name__ == "__main__":
    main()
