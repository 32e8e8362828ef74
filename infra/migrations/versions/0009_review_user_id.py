"""reviews.user_id: the Identity Platform uid of the account that wrote the review

Revision ID: 0009
Revises: 0008

- user_id: the writer's uid (Firebase uids are 1..128 characters); NULL for reviews written
  with an API key and for uploaded ones. No foreign key: accounts live in Identity Platform.
  Adding a nullable column without a default rewrites nothing.
- reviews_user_idx serves "a member lists their own reviews, newest first" (a backward scan
  of (created_at, id) within one uid, the same keyset the other review lists page by); it is
  partial, so the many key-written and uploaded reviews cost it nothing.
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    ALTER TABLE reviews
        ADD COLUMN user_id text CHECK (char_length(user_id) BETWEEN 1 AND 128);
    CREATE INDEX reviews_user_idx ON reviews (user_id, created_at, id)
        WHERE user_id IS NOT NULL;
    """)


def downgrade() -> None:
    op.execute("""
    DROP INDEX reviews_user_idx;
    ALTER TABLE reviews DROP COLUMN user_id;
    """)
