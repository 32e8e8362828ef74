"""ratings: leaderboard columns and indexes, and the one recomputation of every aggregate

Revision ID: 0005
Revises: 0004

- `average_rating` and `bayesian_rating` are stored generated columns of movie_ratings, so each
  leaderboard order is a plain btree over the aggregate table (the reviews table is never read).
  They are NULL for a movie without reviews; the indexes sort those last via coalesce(.., 0)
  (every real rating is >= 1).
- The Bayesian prior is fixed: bayesian = (C*m + rating_sum) / (C + review_count) with
  m = 7.5 (the mean rating of the NSMC corpus, 7.57 over 642k reviews) and C = 10 reviews.
  A fixed prior keeps the score a function of its own row; a live global mean would change every
  movie's score on every write and could not be indexed. shared/ratings.py mirrors m and C;
  changing them needs a migration that redefines the column.
- TRUNCATE reviews empties the aggregates too (it fires no DELETE trigger).
- recompute_movie_ratings() / recompute_movie_rating_daily() derive the aggregates from reviews.
  infra.aggregates (verify, rebuild) and the tests use them, so there is one recomputation only.
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    ALTER TABLE movie_ratings
        ADD COLUMN average_rating numeric GENERATED ALWAYS AS (
            CASE WHEN review_count > 0 THEN rating_sum / review_count END) STORED,
        ADD COLUMN bayesian_rating numeric GENERATED ALWAYS AS (
            CASE WHEN review_count > 0
                 THEN (10 * 7.5 + rating_sum) / (10 + review_count) END) STORED;

    -- leaderboard orders, each with movie_id as the keyset tie-breaker (scanned backwards)
    CREATE INDEX movie_ratings_bayesian_idx
        ON movie_ratings ((coalesce(bayesian_rating, 0)), movie_id);
    CREATE INDEX movie_ratings_average_idx
        ON movie_ratings ((coalesce(average_rating, 0)), movie_id);
    CREATE INDEX movie_ratings_count_idx ON movie_ratings (review_count, movie_id);
    CREATE INDEX movie_ratings_recent_idx ON movie_ratings (updated_at, movie_id);

    -- TRUNCATE fires no row or statement DELETE trigger: empty the aggregates with it
    CREATE FUNCTION reviews_after_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE movie_ratings SET review_count = 0, positivity_sum = 0, positive_count = 0,
            neutral_count = 0, negative_count = 0, rating_sum = 0,
            rating_histogram = array_fill(0, ARRAY[10]), updated_at = clock_timestamp()
        WHERE review_count <> 0;
        DELETE FROM movie_rating_daily;
        RETURN NULL;
    END $$;
    CREATE TRIGGER reviews_aggregate_truncate AFTER TRUNCATE ON reviews
        FOR EACH STATEMENT EXECUTE FUNCTION reviews_after_truncate();

    -- what movie_ratings must hold, derived from reviews (every movie, reviewed or not)
    CREATE FUNCTION recompute_movie_ratings() RETURNS TABLE (
        movie_id bigint, review_count integer, positivity_sum numeric,
        positive_count integer, neutral_count integer, negative_count integer,
        rating_sum numeric, rating_histogram integer[]
    ) LANGUAGE sql STABLE AS $$
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
               ]::integer[]
        FROM movies m LEFT JOIN reviews r ON r.movie_id = m.id
        GROUP BY m.id
    $$;

    -- what movie_rating_daily must hold: one row per (movie, UTC day) that has reviews
    CREATE FUNCTION recompute_movie_rating_daily() RETURNS TABLE (
        movie_id bigint, day date, review_count integer, positivity_sum numeric
    ) LANGUAGE sql STABLE AS $$
        SELECT r.movie_id, (r.created_at AT TIME ZONE 'UTC')::date,
               count(*)::integer, sum(r.positivity::numeric)
        FROM reviews r
        GROUP BY 1, 2
    $$;
    """)


def downgrade() -> None:
    op.execute("""
    DROP FUNCTION recompute_movie_rating_daily(), recompute_movie_ratings();
    DROP TRIGGER reviews_aggregate_truncate ON reviews;
    DROP FUNCTION reviews_after_truncate();
    DROP INDEX movie_ratings_bayesian_idx, movie_ratings_average_idx, movie_ratings_count_idx,
               movie_ratings_recent_idx;
    ALTER TABLE movie_ratings DROP COLUMN bayesian_rating, DROP COLUMN average_rating;
    """)
