"""model rollouts: per-movie counts by model version, the version filter, the rescoring ledger

Revision ID: 0006
Revises: 0005

- movie_ratings.model_versions (jsonb, {"<version>": n, ...}, zero counts dropped) says which
  model versions scored a movie's reviews. It is maintained by the same statement-level
  triggers as every other aggregate (review_delta gains the review's model_version), so an
  upload, a PATCH, a delete or a rescoring batch moves it in its own transaction, and the
  one recomputation (recompute_movie_ratings) covers it: infra.aggregates verify/rebuild see it.
- reviews_model_version_idx serves GET /reviews?model_version= (newest first) and the
  operator's "how many reviews are still on the old model" during a rollout.
- rescore_tasks is the rescoring job's ledger: one row per (execution, task) with its
  checkpoint (the last review id its shard has covered) and counts, advanced in the same
  transaction as each batch's UPDATE, so a task retried after a kill resumes where the last
  commit left off and counts every row once.

Writers are held off (SHARE lock on reviews) while the triggers are swapped and the new
column is filled, so no write can land between the backfill and the new trigger.
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

RATING_COLUMNS = """
        movie_id bigint, review_count integer, positivity_sum numeric,
        positive_count integer, neutral_count integer, negative_count integer,
        rating_sum numeric, rating_histogram integer[]"""

RECOMPUTE_BODY = """
        SELECT m.id,
               count(r.id)::integer,
               coalesce(sum(r.positivity::numeric), 0),
               (count(r.id) FILTER (WHERE r.label = 'positive'))::integer,
               (count(r.id) FILTER (WHERE r.label = 'neutral'))::integer,
               (count(r.id) FILTER (WHERE r.label = 'negative'))::integer,
               coalesce(sum(r.rating::numeric), 0),
               ARRAY[
                     count(r.id) FILTER (WHERE rating_bucket(r.rating) = 1),
                     count(r.id) FILTER (WHERE rating_bucket(r.rating) = 2),
                     count(r.id) FILTER (WHERE rating_bucket(r.rating) = 3),
                     count(r.id) FILTER (WHERE rating_bucket(r.rating) = 4),
                     count(r.id) FILTER (WHERE rating_bucket(r.rating) = 5),
                     count(r.id) FILTER (WHERE rating_bucket(r.rating) = 6),
                     count(r.id) FILTER (WHERE rating_bucket(r.rating) = 7),
                     count(r.id) FILTER (WHERE rating_bucket(r.rating) = 8),
                     count(r.id) FILTER (WHERE rating_bucket(r.rating) = 9),
                     count(r.id) FILTER (WHERE rating_bucket(r.rating) = 10)
               ]::integer[]{versions}
        FROM movies m LEFT JOIN reviews r ON r.movie_id = m.id
        GROUP BY m.id"""

VERSIONS_COLUMN = """,
               coalesce((SELECT jsonb_object_agg(v.model_version, v.n)
                         FROM (SELECT x.model_version, count(*) AS n FROM reviews x
                               WHERE x.movie_id = m.id GROUP BY x.model_version) v),
                        '{}'::jsonb)"""

# apply_review_deltas of 0002, with (upgrade) or without (downgrade) the model_versions merge
APPLY_DELTAS = """
    CREATE OR REPLACE FUNCTION apply_review_deltas(deltas review_delta[]) RETURNS void
    LANGUAGE plpgsql AS $$
    BEGIN
        IF cardinality(deltas) = 0 THEN
            RETURN;
        END IF;
        -- lock every touched aggregate in id order: concurrent multi-movie writes cannot deadlock
        PERFORM 1 FROM movie_ratings
        WHERE movie_id IN (SELECT d.movie_id FROM unnest(deltas) d)
        ORDER BY movie_id FOR UPDATE;

        WITH d AS (SELECT * FROM unnest(deltas)),
        totals AS (
            SELECT movie_id,
                   sum(sign) AS n,
                   sum(sign * positivity::numeric) AS positivity,
                   coalesce(sum(sign) FILTER (WHERE label = 'positive'), 0) AS positive,
                   coalesce(sum(sign) FILTER (WHERE label = 'neutral'), 0) AS neutral,
                   coalesce(sum(sign) FILTER (WHERE label = 'negative'), 0) AS negative,
                   sum(sign * rating::numeric) AS rating
            FROM d GROUP BY movie_id
        ),
        buckets AS (
            SELECT d.movie_id, b.bucket,
                   coalesce(sum(d.sign) FILTER (WHERE rating_bucket(d.rating) = b.bucket), 0) AS n
            FROM d CROSS JOIN generate_series(1, 10) AS b (bucket)
            GROUP BY d.movie_id, b.bucket
        ),
        histograms AS (
            SELECT movie_id, array_agg(n ORDER BY bucket) AS hist FROM buckets GROUP BY movie_id
        ){versions_cte}
        UPDATE movie_ratings m SET
            review_count     = m.review_count + t.n,
            positivity_sum   = m.positivity_sum + t.positivity,
            positive_count   = m.positive_count + t.positive,
            neutral_count    = m.neutral_count + t.neutral,
            negative_count   = m.negative_count + t.negative,
            rating_sum       = m.rating_sum + t.rating,
            rating_histogram = ARRAY(
                SELECT m.rating_histogram[i] + h.hist[i] FROM generate_series(1, 10) i ORDER BY i),
            {versions_set}updated_at       = clock_timestamp()
        FROM totals t JOIN histograms h USING (movie_id){versions_join}
        WHERE m.movie_id = t.movie_id;

        -- a movie's own deletion cascades here after its rows are gone: skip it.
        -- Existing days are updated first and only missing days inserted: INSERT .. ON CONFLICT
        -- checks CHECK (review_count >= 0) on the proposed row before it sees the conflict, so
        -- a removal (negative delta) cannot go through it. The movie_ratings row locks above
        -- serialise the writers of one movie.
        UPDATE movie_rating_daily daily SET
            review_count   = daily.review_count + g.n,
            positivity_sum = daily.positivity_sum + g.positivity
        FROM (
            SELECT d.movie_id, (d.created_at AT TIME ZONE 'UTC')::date AS day,
                   sum(d.sign) AS n, sum(d.sign * d.positivity::numeric) AS positivity
            FROM unnest(deltas) d
            GROUP BY 1, 2
        ) g
        WHERE daily.movie_id = g.movie_id AND daily.day = g.day;

        INSERT INTO movie_rating_daily AS daily (movie_id, day, review_count, positivity_sum)
        SELECT d.movie_id, (d.created_at AT TIME ZONE 'UTC')::date,
               sum(d.sign), sum(d.sign * d.positivity::numeric)
        FROM unnest(deltas) d
        WHERE EXISTS (SELECT 1 FROM movies WHERE movies.id = d.movie_id)
          AND NOT EXISTS (SELECT 1 FROM movie_rating_daily x
                          WHERE x.movie_id = d.movie_id
                            AND x.day = (d.created_at AT TIME ZONE 'UTC')::date)
        GROUP BY 1, 2
        ORDER BY 1, 2
        ON CONFLICT (movie_id, day) DO UPDATE SET
            review_count   = daily.review_count + excluded.review_count,
            positivity_sum = daily.positivity_sum + excluded.positivity_sum;
    END $$;
"""
VERSIONS = {
    "versions_cte": """,
        versions AS (
            SELECT movie_id, jsonb_object_agg(model_version, n) AS delta
            FROM (SELECT movie_id, model_version, sum(sign) AS n FROM d
                  GROUP BY movie_id, model_version) v
            GROUP BY movie_id
        )""",
    "versions_set": (
        "model_versions   = add_version_counts(m.model_versions, v.delta),\n            "
    ),
    "versions_join": " JOIN versions v USING (movie_id)",
}
NO_VERSIONS = dict.fromkeys(VERSIONS, "")

ROW_DELTA = "ROW(movie_id, {sign}, positivity, label, rating, created_at{version})::review_delta"


def _triggers(version: str) -> str:
    """The three trigger functions, building deltas with or without the model version."""
    plus = ROW_DELTA.format(sign=1, version=version)
    minus = ROW_DELTA.format(sign=-1, version=version)
    return f"""
    CREATE OR REPLACE FUNCTION reviews_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM apply_review_deltas(ARRAY(SELECT {plus} FROM new_reviews));
        RETURN NULL;
    END $$;

    CREATE OR REPLACE FUNCTION reviews_after_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM apply_review_deltas(ARRAY(
            SELECT {minus} FROM old_reviews
            UNION ALL
            SELECT {plus} FROM new_reviews));
        RETURN NULL;
    END $$;

    CREATE OR REPLACE FUNCTION reviews_after_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM apply_review_deltas(ARRAY(SELECT {minus} FROM old_reviews));
        RETURN NULL;
    END $$;
    """  # noqa: S608


def upgrade() -> None:
    op.execute(f"""
    LOCK TABLE reviews IN SHARE MODE;
    LOCK TABLE movie_ratings IN EXCLUSIVE MODE;

    ALTER TABLE movie_ratings ADD COLUMN model_versions jsonb NOT NULL DEFAULT '{{}}'::jsonb;
    ALTER TYPE review_delta ADD ATTRIBUTE model_version text;

    -- counts + delta, per key; keys whose count reaches zero disappear
    CREATE FUNCTION add_version_counts(counts jsonb, delta jsonb) RETURNS jsonb
        LANGUAGE sql IMMUTABLE PARALLEL SAFE
        RETURN (SELECT coalesce(jsonb_object_agg(key, total) FILTER (WHERE total <> 0),
                                '{{}}'::jsonb)
                FROM (SELECT key, sum(value::bigint) AS total
                      FROM (SELECT * FROM jsonb_each_text(counts)
                            UNION ALL
                            SELECT * FROM jsonb_each_text(coalesce(delta, '{{}}'::jsonb))) e
                      GROUP BY key) s);

    {APPLY_DELTAS.format(**VERSIONS)}
    {_triggers(", model_version")}

    CREATE OR REPLACE FUNCTION reviews_after_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE movie_ratings SET review_count = 0, positivity_sum = 0, positive_count = 0,
            neutral_count = 0, negative_count = 0, rating_sum = 0,
            rating_histogram = array_fill(0, ARRAY[10]), model_versions = '{{}}'::jsonb,
            updated_at = clock_timestamp()
        WHERE review_count <> 0;
        DELETE FROM movie_rating_daily;
        RETURN NULL;
    END $$;

    DROP FUNCTION recompute_movie_ratings();
    CREATE FUNCTION recompute_movie_ratings() RETURNS TABLE ({RATING_COLUMNS},
        model_versions jsonb
    ) LANGUAGE sql STABLE AS $${RECOMPUTE_BODY.format(versions=VERSIONS_COLUMN)}
    $$;

    UPDATE movie_ratings a SET model_versions = e.model_versions
    FROM recompute_movie_ratings() e
    WHERE a.movie_id = e.movie_id AND e.model_versions <> '{{}}'::jsonb;

    CREATE INDEX reviews_model_version_idx ON reviews (model_version, created_at, id);

    CREATE TABLE rescore_tasks (
        execution     text NOT NULL,
        task_index    integer NOT NULL CHECK (task_index >= 0),
        task_count    integer NOT NULL CHECK (task_count > task_index),
        model_version text NOT NULL,
        model_uri     text NOT NULL,
        status        text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done')),
        checkpoint_id bigint NOT NULL DEFAULT 0 CHECK (checkpoint_id >= 0),
        seen          bigint NOT NULL DEFAULT 0 CHECK (seen >= 0),
        rescored      bigint NOT NULL DEFAULT 0 CHECK (rescored >= 0),
        conflicts     bigint NOT NULL DEFAULT 0 CHECK (conflicts >= 0),
        attempts      integer NOT NULL DEFAULT 0,
        started_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
        updated_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
        finished_at   timestamptz,
        PRIMARY KEY (execution, task_index)
    );
    """)  # noqa: S608


def downgrade() -> None:
    op.execute(f"""
    LOCK TABLE reviews IN SHARE MODE;
    DROP TABLE rescore_tasks;
    DROP INDEX reviews_model_version_idx;
    DROP FUNCTION recompute_movie_ratings();
    CREATE FUNCTION recompute_movie_ratings() RETURNS TABLE ({RATING_COLUMNS}
    ) LANGUAGE sql STABLE AS $${RECOMPUTE_BODY.format(versions="")}
    $$;
    {APPLY_DELTAS.format(**NO_VERSIONS)}
    {_triggers("")}
    ALTER TYPE review_delta DROP ATTRIBUTE model_version;
    CREATE OR REPLACE FUNCTION reviews_after_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE movie_ratings SET review_count = 0, positivity_sum = 0, positive_count = 0,
            neutral_count = 0, negative_count = 0, rating_sum = 0,
            rating_histogram = array_fill(0, ARRAY[10]), updated_at = clock_timestamp()
        WHERE review_count <> 0;
        DELETE FROM movie_rating_daily;
        RETURN NULL;
    END $$;
    ALTER TABLE movie_ratings DROP COLUMN model_versions;
    DROP FUNCTION add_version_counts(jsonb, jsonb);
    """)  # noqa: S608
