"""idempotency keys replay byte for byte: the body as sent, and the headers that matter

Revision ID: 0007
Revises: 0006

jsonb re-orders keys and re-spaces the text, so a replay could not repeat the first body's
bytes; the body is now kept as the text that was sent, with the response headers (Location,
Content-Type) beside it. Rows stored before keep their jsonb text and empty headers; they
expire within the key TTL (24 hours).
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    ALTER TABLE idempotency_keys ALTER COLUMN response TYPE text USING response::text;
    ALTER TABLE idempotency_keys RENAME COLUMN response TO body;
    ALTER TABLE idempotency_keys ADD COLUMN headers jsonb NOT NULL DEFAULT '{}';
    """)


def downgrade() -> None:
    op.execute("""
    ALTER TABLE idempotency_keys DROP COLUMN headers;
    ALTER TABLE idempotency_keys RENAME COLUMN body TO response;
    ALTER TABLE idempotency_keys ALTER COLUMN response TYPE jsonb USING response::jsonb;
    """)
