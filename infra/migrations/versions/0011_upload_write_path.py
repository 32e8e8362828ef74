"""the upload write path at a flat cost per line: a narrow exactly-once key, leaner triggers

Revision ID: 0011
Revises: 0010

Measured with bench/profile_upload.py (issue 20): at 1M lines an upload spent several times
more database CPU and WAL per line in its last tenth than in its first. What grew:

- reviews.source_key's unique index. The key is long text ('gs://bucket/object#generation:
  line', ~50 bytes), and its lines sort as text (':1', ':10', ':100', ... ':2'), so a file's
  inserts sweep the whole index again and again: past shared_buffers every insert reads and
  dirties an old leaf page (and writes a full-page image after each checkpoint). The
  exactly-once key is now (upload_id, upload_line): the ledger row's id and the physical
  line, 16 bytes, in file order, so a file's inserts append at the right edge of its index.
  source_key keeps its meaning (written by uploads for people and queries) without an index.
  Rows stored before get their (upload_id, upload_line) from their source key here.
- the aggregate trigger's per-batch work: apply_review_deltas built each movie's histogram
  from ten rows per delta (a cross join with generate_series) and a subquery per movie; it
  now makes every per-movie figure, histogram included, in one grouped pass, and adds the
  histograms element by element. Same results (the hypothesis tests and infra.aggregates
  verify compare them with recompute_movie_ratings()).
- movie_ratings is updated once per movie per batch and none of those updates can be HOT
  (the leaderboard indexes cover the changed columns), so its dead rows pile up between
  autovacuum runs (50 movies x ~2,000 batches for 1M lines): it is vacuumed after 200 of
  them rather than 20% of a table that small plus 50.
"""

from alembic import op

from infra.migrations.earlier import revision as earlier

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


PREVIOUS = earlier("0006_model_versions")  # apply_review_deltas as 0006 defined it
# its per-day part, unchanged: from the comment above the daily UPDATE to the function's end
DAILY = PREVIOUS.APPLY_DELTAS[PREVIOUS.APPLY_DELTAS.index("        -- a movie's own deletion") :]
HISTOGRAM_SUMS = ",\n".join(
    f"               coalesce(sum(sign) FILTER (WHERE bucket = {i}), 0)" for i in range(1, 11)
)
HISTOGRAM_ADD = ", ".join(f"m.rating_histogram[{i}] + t.hist[{i}]" for i in range(1, 11))

APPLY_DELTAS = f"""
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

        WITH d AS (
            SELECT movie_id, sign, positivity, label, rating, rating_bucket(rating) AS bucket,
                   model_version
            FROM unnest(deltas)
        ),
        totals AS (
            SELECT movie_id,
                   sum(sign) AS n,
                   sum(sign * positivity::numeric) AS positivity,
                   coalesce(sum(sign) FILTER (WHERE label = 'positive'), 0) AS positive,
                   coalesce(sum(sign) FILTER (WHERE label = 'neutral'), 0) AS neutral,
                   coalesce(sum(sign) FILTER (WHERE label = 'negative'), 0) AS negative,
                   sum(sign * rating::numeric) AS rating,
                   ARRAY[
{HISTOGRAM_SUMS}
                   ] AS hist
            FROM d GROUP BY movie_id
        ),
        versions AS (
            SELECT movie_id, jsonb_object_agg(model_version, n) AS delta
            FROM (SELECT movie_id, model_version, sum(sign) AS n FROM d
                  GROUP BY movie_id, model_version) v
            GROUP BY movie_id
        )
        UPDATE movie_ratings m SET
            review_count     = m.review_count + t.n,
            positivity_sum   = m.positivity_sum + t.positivity,
            positive_count   = m.positive_count + t.positive,
            neutral_count    = m.neutral_count + t.neutral,
            negative_count   = m.negative_count + t.negative,
            rating_sum       = m.rating_sum + t.rating,
            rating_histogram = ARRAY[{HISTOGRAM_ADD}],
            model_versions   = add_version_counts(m.model_versions, v.delta),
            updated_at       = clock_timestamp()
        FROM totals t JOIN versions v USING (movie_id)
        WHERE m.movie_id = t.movie_id;

{DAILY}"""  # noqa: S608


def upgrade() -> None:
    op.execute(f"""
    ALTER TABLE upload_objects ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY;
    ALTER TABLE upload_objects ADD CONSTRAINT upload_objects_id_key UNIQUE (id);

    ALTER TABLE reviews
        ADD COLUMN upload_id   bigint,
        ADD COLUMN upload_line bigint CHECK (upload_line >= 1),
        ADD CONSTRAINT reviews_upload_key_complete
            CHECK ((upload_id IS NULL) = (upload_line IS NULL));
    -- rows uploaded before: their key from their source key (gs://b/o#generation:line)
    UPDATE reviews r SET upload_id = o.id,
                         upload_line = substring(r.source_key FROM ':([0-9]+)$')::bigint
    FROM upload_objects o
    WHERE r.source_key IS NOT NULL
      AND substring(r.source_key FROM '^(.*):[0-9]+$')
          = 'gs://' || o.bucket || '/' || o.object || '#' || o.generation;
    CREATE UNIQUE INDEX reviews_upload_line_key ON reviews (upload_id, upload_line)
        WHERE upload_id IS NOT NULL;
    ALTER TABLE reviews DROP CONSTRAINT reviews_source_key_key;

    {APPLY_DELTAS}

    ALTER TABLE movie_ratings SET (autovacuum_vacuum_scale_factor = 0,
                                   autovacuum_vacuum_threshold = 200);
    """)  # noqa: S608


def downgrade() -> None:
    op.execute(f"""
    ALTER TABLE movie_ratings RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold);
    {PREVIOUS.APPLY_DELTAS.format(**PREVIOUS.VERSIONS)}
    ALTER TABLE reviews ADD CONSTRAINT reviews_source_key_key UNIQUE (source_key);
    DROP INDEX reviews_upload_line_key;
    ALTER TABLE reviews DROP CONSTRAINT reviews_upload_key_complete,
                        DROP COLUMN upload_line, DROP COLUMN upload_id;
    ALTER TABLE upload_objects DROP COLUMN id;
    """)
