"""reviews and the per-movie aggregates every review write maintains

Revision ID: 0002
Revises: 0001

Aggregates are kept by statement-level triggers with transition tables, so no write path
(single insert, bulk upload, PATCH, DELETE, movie cascade) can skip them, and a bulk insert
costs one aggregate update per movie rather than one per row. Sums are numeric so that the
maintained value equals a recomputation exactly, whatever the order of writes.
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    CREATE TABLE reviews (
        id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        movie_id      bigint NOT NULL REFERENCES movies (id) ON DELETE CASCADE,
        author        text NOT NULL CHECK (char_length(author) BETWEEN 1 AND 50),
        content       text NOT NULL CHECK (char_length(content) BETWEEN 1 AND 2000),
        label         text NOT NULL CHECK (label IN ('positive', 'neutral', 'negative')),
        positivity    double precision NOT NULL CHECK (positivity BETWEEN 0 AND 1),
        confidence    double precision NOT NULL CHECK (confidence BETWEEN 0 AND 1),
        rating        double precision NOT NULL CHECK (rating BETWEEN 1 AND 10),
        model_version text NOT NULL,
        source_key    text UNIQUE,
        external_id   text,
        created_at    timestamptz NOT NULL DEFAULT now(),
        updated_at    timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX reviews_movie_idx ON reviews (movie_id, created_at, id);
    CREATE INDEX reviews_created_idx ON reviews (created_at, id);
    CREATE INDEX reviews_author_idx ON reviews (author, created_at, id);
    CREATE INDEX reviews_label_idx ON reviews (label, created_at, id);
    CREATE TRIGGER reviews_touch BEFORE UPDATE ON reviews
        FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

    -- the predicted rating's histogram bucket, 1..10
    CREATE FUNCTION rating_bucket(rating double precision) RETURNS integer
        LANGUAGE sql IMMUTABLE PARALLEL SAFE
        RETURN least(10, greatest(1, round(rating)))::integer;

    CREATE TABLE movie_ratings (
        movie_id         bigint PRIMARY KEY REFERENCES movies (id) ON DELETE CASCADE,
        review_count     integer NOT NULL DEFAULT 0 CHECK (review_count >= 0),
        positivity_sum   numeric NOT NULL DEFAULT 0,
        positive_count   integer NOT NULL DEFAULT 0 CHECK (positive_count >= 0),
        neutral_count    integer NOT NULL DEFAULT 0 CHECK (neutral_count >= 0),
        negative_count   integer NOT NULL DEFAULT 0 CHECK (negative_count >= 0),
        rating_sum       numeric NOT NULL DEFAULT 0,
        rating_histogram integer[] NOT NULL DEFAULT array_fill(0, ARRAY[10])
                         CHECK (cardinality(rating_histogram) = 10),
        updated_at       timestamptz NOT NULL DEFAULT clock_timestamp()
    );

    CREATE TABLE movie_rating_daily (
        movie_id       bigint NOT NULL REFERENCES movies (id) ON DELETE CASCADE,
        day            date NOT NULL,
        review_count   integer NOT NULL CHECK (review_count >= 0),
        positivity_sum numeric NOT NULL,
        PRIMARY KEY (movie_id, day)
    );

    CREATE FUNCTION movies_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO movie_ratings (movie_id) SELECT id FROM new_movies;
        RETURN NULL;
    END $$;
    CREATE TRIGGER movies_aggregate AFTER INSERT ON movies
        REFERENCING NEW TABLE AS new_movies
        FOR EACH STATEMENT EXECUTE FUNCTION movies_after_insert();
    INSERT INTO movie_ratings (movie_id) SELECT id FROM movies;

    CREATE TYPE review_delta AS (
        movie_id   bigint,
        sign       integer,
        positivity double precision,
        label      text,
        rating     double precision,
        created_at timestamptz
    );

    CREATE FUNCTION apply_review_deltas(deltas review_delta[]) RETURNS void
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
        )
        UPDATE movie_ratings m SET
            review_count     = m.review_count + t.n,
            positivity_sum   = m.positivity_sum + t.positivity,
            positive_count   = m.positive_count + t.positive,
            neutral_count    = m.neutral_count + t.neutral,
            negative_count   = m.negative_count + t.negative,
            rating_sum       = m.rating_sum + t.rating,
            rating_histogram = ARRAY(
                SELECT m.rating_histogram[i] + h.hist[i] FROM generate_series(1, 10) i ORDER BY i),
            updated_at       = clock_timestamp()
        FROM totals t JOIN histograms h USING (movie_id)
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

    CREATE FUNCTION reviews_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM apply_review_deltas(ARRAY(
            SELECT ROW(movie_id, 1, positivity, label, rating, created_at)::review_delta
            FROM new_reviews));
        RETURN NULL;
    END $$;

    CREATE FUNCTION reviews_after_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM apply_review_deltas(ARRAY(
            SELECT ROW(movie_id, -1, positivity, label, rating, created_at)::review_delta
            FROM old_reviews
            UNION ALL
            SELECT ROW(movie_id, 1, positivity, label, rating, created_at)::review_delta
            FROM new_reviews));
        RETURN NULL;
    END $$;

    CREATE FUNCTION reviews_after_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM apply_review_deltas(ARRAY(
            SELECT ROW(movie_id, -1, positivity, label, rating, created_at)::review_delta
            FROM old_reviews));
        RETURN NULL;
    END $$;

    CREATE TRIGGER reviews_aggregate_insert AFTER INSERT ON reviews
        REFERENCING NEW TABLE AS new_reviews
        FOR EACH STATEMENT EXECUTE FUNCTION reviews_after_insert();
    CREATE TRIGGER reviews_aggregate_update AFTER UPDATE ON reviews
        REFERENCING OLD TABLE AS old_reviews NEW TABLE AS new_reviews
        FOR EACH STATEMENT EXECUTE FUNCTION reviews_after_update();
    CREATE TRIGGER reviews_aggregate_delete AFTER DELETE ON reviews
        REFERENCING OLD TABLE AS old_reviews
        FOR EACH STATEMENT EXECUTE FUNCTION reviews_after_delete();
    """)


def downgrade() -> None:
    op.execute("""
    DROP TRIGGER movies_aggregate ON movies;
    DROP TABLE movie_rating_daily, movie_ratings, reviews;
    DROP FUNCTION reviews_after_insert(), reviews_after_update(), reviews_after_delete(),
                  apply_review_deltas(review_delta[]), movies_after_insert(),
                  rating_bucket(double precision);
    DROP TYPE review_delta;
    """)
