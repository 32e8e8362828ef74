"""movies

Revision ID: 0001
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    CREATE FUNCTION touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.updated_at := clock_timestamp();
        RETURN NEW;
    END $$;

    CREATE TABLE movies (
        id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        title        text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
        release_date date,
        director     text CHECK (char_length(director) <= 200),
        genre        text CHECK (char_length(genre) <= 50),
        poster_url   text CHECK (char_length(poster_url) <= 2048),
        synopsis     text CHECK (char_length(synopsis) <= 5000),
        -- now(): one value per transaction, so a new row's created_at equals its updated_at
        created_at   timestamptz NOT NULL DEFAULT now(),
        updated_at   timestamptz NOT NULL DEFAULT now()
    );
    -- keyset pagination: one index per sort key, id as the tie-breaker
    CREATE INDEX movies_created_at_idx ON movies (created_at, id);
    CREATE INDEX movies_title_idx ON movies (title, id);
    CREATE INDEX movies_release_idx ON movies ((coalesce(release_date, '-infinity'::date)), id);
    CREATE INDEX movies_director_idx ON movies (lower(director));
    CREATE INDEX movies_genre_idx ON movies (lower(genre));

    CREATE TRIGGER movies_touch BEFORE UPDATE ON movies
        FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
    """)


def downgrade() -> None:
    op.execute("DROP TABLE movies; DROP FUNCTION touch_updated_at();")
