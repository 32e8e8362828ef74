"""idempotency keys for review writes

Revision ID: 0003
Revises: 0002

A key remembers the request's hash and the response it got, so a retry with the same body
replays the response and a different body under the same key is a conflict.
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    CREATE TABLE idempotency_keys (
        key          text PRIMARY KEY CHECK (char_length(key) BETWEEN 1 AND 255),
        request_hash text NOT NULL,
        status       smallint NOT NULL,
        response     jsonb NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT clock_timestamp()
    );
    CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
    """)


def downgrade() -> None:
    op.execute("DROP TABLE idempotency_keys")
