"""Alembic environment: runs on the connection handed over by infra.migrate.

After the migrations, in the same transaction, it records the chain of revisions the
database is now on (infra/lineage.py), so that older code can later recognise this database
as a newer release of its own schema (a rollback by revert).
"""

from alembic import context

from infra import lineage

connection = context.config.attributes["connection"]
context.configure(connection=connection, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
    lineage.record(connection, context.script, context.get_context().get_current_heads())
