"""uploads: the per-object ledger, its rejected lines, and upload de-duplication

Revision ID: 0004
Revises: 0003

One ledger row per (bucket, object, generation) records status, counts and the checkpoint
(last line whose batch committed); it is updated in the same transaction as each batch's
review insert, so a resumed delivery continues exactly where the last commit left off.
Rejected lines live in a table keyed the same way plus the line number, so rejects are
exactly-once across resumes and the rejects object is rendered from it at the end.
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    CREATE TABLE upload_objects (
        bucket          text NOT NULL,
        object          text NOT NULL,
        generation      bigint NOT NULL,
        status          text NOT NULL DEFAULT 'processing'
                        CHECK (status IN ('processing', 'done', 'failed')),
        size            bigint,
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
        PRIMARY KEY (bucket, object, generation)
    );
    CREATE INDEX upload_objects_status_idx ON upload_objects (status, updated_at);

    CREATE TABLE upload_rejects (
        bucket     text NOT NULL,
        object     text NOT NULL,
        generation bigint NOT NULL,
        line       bigint NOT NULL,
        reason     text NOT NULL,
        raw        text NOT NULL,
        PRIMARY KEY (bucket, object, generation, line),
        FOREIGN KEY (bucket, object, generation)
            REFERENCES upload_objects (bucket, object, generation) ON DELETE CASCADE
    );

    -- a line carrying an external_id already stored for that movie (say, the same file
    -- uploaded again as a new generation) is a duplicate, not a second review
    CREATE UNIQUE INDEX reviews_movie_external_id_key ON reviews (movie_id, external_id)
        WHERE external_id IS NOT NULL;
    """)


def downgrade() -> None:
    op.execute("""
    DROP INDEX reviews_movie_external_id_key;
    DROP TABLE upload_rejects, upload_objects;
    """)
