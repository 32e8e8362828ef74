"""upload budgets: attempts in a row that committed nothing, and the rejects kept

Revision ID: 0010
Revises: 0009

On upload_objects and upload_shards alike (ledger.record_batch advances either row):
- stalled_attempts: attempts since the last committed batch. Each attempt adds one when it
  claims the row, each committed batch sets it back to 0. A delivery that finds it over
  UPLOAD_MAX_ATTEMPTS ends the object `failed` (with the last error, kept in `error`), so no
  file retries forever, while a long file that commits on every attempt (the time budget's
  continuations) is never charged. `attempts` alone cannot tell the two apart.
- rejects_kept / reject_bytes: how many rejected lines, and how many bytes of their raw text
  and reason, were kept in upload_rejects (at most UPLOAD_MAX_REJECTS and
  UPLOAD_MAX_REJECT_BYTES per object); `rejected` still counts every rejected line.
Adding NOT NULL columns with a constant default rewrites nothing.
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

COLUMNS = """
        ADD COLUMN stalled_attempts integer NOT NULL DEFAULT 0 CHECK (stalled_attempts >= 0),
        ADD COLUMN rejects_kept     bigint  NOT NULL DEFAULT 0 CHECK (rejects_kept >= 0),
        ADD COLUMN reject_bytes     bigint  NOT NULL DEFAULT 0 CHECK (reject_bytes >= 0)"""


def upgrade() -> None:
    op.execute(f"ALTER TABLE upload_objects {COLUMNS}; ALTER TABLE upload_shards {COLUMNS};")


def downgrade() -> None:
    for table in ("upload_objects", "upload_shards"):
        op.execute(
            f"ALTER TABLE {table} DROP COLUMN stalled_attempts, DROP COLUMN rejects_kept,"
            " DROP COLUMN reject_bytes"
        )
