"""upload fan-out: the dispatch record of an object and one ledger row per byte-range shard

Revision ID: 0008
Revises: 0007

- upload_objects.shard_count / execution / dispatched_at: set once, under the object's lease,
  when the upload handler starts a Cloud Run job execution for the object; a redelivered
  event finds them and starts nothing.
- upload_shards: one row per (object generation, shard) with the shard's first line (its
  physical line number, counted once), its own checkpoint and counts, advanced in the same
  transaction as each of its batches, exactly like upload_objects for a whole object. The
  object row gets the sums when the last shard finishes. Rejects and reviews stay keyed by
  physical line number, so they mean the same whichever path processed the object.
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    ALTER TABLE upload_objects
        ADD COLUMN shard_count   integer CHECK (shard_count >= 1),
        ADD COLUMN execution     text,
        ADD COLUMN dispatched_at timestamptz;

    CREATE TABLE upload_shards (
        bucket          text NOT NULL,
        object          text NOT NULL,
        generation      bigint NOT NULL,
        shard           integer NOT NULL CHECK (shard >= 0),
        shard_count     integer NOT NULL CHECK (shard_count > shard),
        status          text NOT NULL DEFAULT 'processing'
                        CHECK (status IN ('processing', 'done', 'failed')),
        start_offset    bigint CHECK (start_offset >= 0),
        first_line      bigint CHECK (first_line >= 1),
        checkpoint_line bigint NOT NULL DEFAULT 0 CHECK (checkpoint_line >= 0),
        lines           bigint NOT NULL DEFAULT 0 CHECK (lines >= 0),
        inserted        bigint NOT NULL DEFAULT 0 CHECK (inserted >= 0),
        duplicates      bigint NOT NULL DEFAULT 0 CHECK (duplicates >= 0),
        rejected        bigint NOT NULL DEFAULT 0 CHECK (rejected >= 0),
        attempts        integer NOT NULL DEFAULT 0,
        model_version   text,
        error           text,
        started_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
        updated_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
        finished_at     timestamptz,
        PRIMARY KEY (bucket, object, generation, shard),
        FOREIGN KEY (bucket, object, generation)
            REFERENCES upload_objects (bucket, object, generation) ON DELETE CASCADE
    );
    -- the running fan-outs, counted before starting another (UPLOAD_FANOUT_MAX_RUNNING)
    CREATE INDEX upload_objects_fanout_idx ON upload_objects (dispatched_at)
        WHERE status = 'processing' AND shard_count IS NOT NULL;
    """)


def downgrade() -> None:
    op.execute("""
    DROP TABLE upload_shards;
    DROP INDEX upload_objects_fanout_idx;
    ALTER TABLE upload_objects DROP COLUMN shard_count, DROP COLUMN execution,
                               DROP COLUMN dispatched_at;
    """)
