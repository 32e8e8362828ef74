"""the rating aggregates move at commit: a movie's aggregate row is locked for the commit only

Revision ID: 0012
Revises: 0011

Measured with bench/bench_reviews.py (issue 20): every review write locks its movie's
movie_ratings row (so concurrent writers of one movie add up exactly), and the statement
triggers took that lock at the INSERT, so it was held while the function read the insert's
answer, rendered its response, stored it under the Idempotency-Key and sent COMMIT: 16
clients writing reviews of one movie spent a third of their time waiting on that row
(pg_stat_activity: ~3 of 8 connections on a `transactionid`/`tuple` lock, ~1.3 idle in
transaction holding it), at 290-330 requests/s.

- The statement triggers now queue their deltas (pending_review_deltas: one row per statement,
  in the writing transaction) and a deferred constraint trigger applies them at COMMIT: the
  first of a transaction's queued rows to fire takes all of them, merged, so the aggregate rows
  are locked once, in movie id order (no deadlock between multi-movie writers), and only for
  the commit. Same deltas, same apply_review_deltas(): a transaction's aggregates are exact
  when it commits, as before; what changes is that a transaction no longer sees its own
  writes in the aggregates before it commits (nothing reads them there). A rolled-back
  savepoint takes its queued rows (and their trigger events) with it; TRUNCATE drops what its
  transaction had queued, as it zeroes the aggregates itself.
  The queue is UNLOGGED: its rows never outlive their transaction, so nothing in it needs
  the WAL or a replica, and a crash cannot leave a row behind for anyone.
- apply_review_deltas() plans its statements once per session (plan_cache_mode =
  force_generic_plan): with the deltas as a parameter PostgreSQL kept a custom plan and
  planned its four statements again on every call, ~0.4 ms of a one-review write's ~0.8 ms
  in the triggers; the generic plans are as fast for a 500-row upload batch.

Writers are held off (SHARE lock on reviews) while the triggers are swapped, so no
transaction queues deltas under one regime and commits under the other.
"""

from alembic import op

from infra.migrations.earlier import revision as earlier

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


# the three statement triggers as 0006 defined them (deltas with the model version)
APPLYING_TRIGGERS = earlier("0006_model_versions")._triggers(", model_version")
QUEUEING_TRIGGERS = APPLYING_TRIGGERS.replace("apply_review_deltas(", "queue_review_deltas(")


def upgrade() -> None:
    op.execute(f"""
    LOCK TABLE reviews IN SHARE MODE;

    CREATE UNLOGGED TABLE pending_review_deltas (
        xact   xid8 NOT NULL DEFAULT pg_current_xact_id(),  -- the top-level transaction's
        deltas review_delta[] NOT NULL
    );
    CREATE INDEX pending_review_deltas_xact_idx ON pending_review_deltas (xact);

    CREATE FUNCTION queue_review_deltas(deltas review_delta[]) RETURNS void
    LANGUAGE sql AS $$
        INSERT INTO pending_review_deltas (deltas) SELECT deltas WHERE cardinality(deltas) > 0
    $$;

    -- at COMMIT, once per queued row: the first takes every row its transaction queued
    CREATE FUNCTION apply_pending_review_deltas() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        merged review_delta[];
    BEGIN
        WITH taken AS (
            DELETE FROM pending_review_deltas WHERE xact = pg_current_xact_id()
            RETURNING deltas
        )
        SELECT coalesce(array_agg(d), '{{}}') INTO merged FROM taken, unnest(taken.deltas) d;
        PERFORM apply_review_deltas(merged);
        RETURN NULL;
    END $$;

    CREATE CONSTRAINT TRIGGER pending_review_deltas_apply
        AFTER INSERT ON pending_review_deltas DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION apply_pending_review_deltas();

    CREATE FUNCTION drop_pending_review_deltas() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM pending_review_deltas WHERE xact = pg_current_xact_id();
        RETURN NULL;
    END $$;
    CREATE TRIGGER reviews_pending_truncate AFTER TRUNCATE ON reviews
        FOR EACH STATEMENT EXECUTE FUNCTION drop_pending_review_deltas();

    {QUEUEING_TRIGGERS}

    ALTER FUNCTION apply_review_deltas(review_delta[])
        SET plan_cache_mode = force_generic_plan;
    """)  # noqa: S608 (the queueing triggers are 0006's, with the queue's function named)


def downgrade() -> None:
    op.execute(f"""
    LOCK TABLE reviews IN SHARE MODE;
    ALTER FUNCTION apply_review_deltas(review_delta[]) RESET plan_cache_mode;
    {APPLYING_TRIGGERS}
    DROP TRIGGER reviews_pending_truncate ON reviews;
    DROP FUNCTION drop_pending_review_deltas();
    DROP TABLE pending_review_deltas;
    DROP FUNCTION apply_pending_review_deltas(), queue_review_deltas(review_delta[]);
    """)
