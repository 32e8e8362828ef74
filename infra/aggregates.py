"""Check and repair the rating aggregates against a recomputation from the reviews table.

Usage: python -m infra.aggregates verify    one JSON line per drifted row, then a summary line;
                                          exit code 1 when anything drifted
       python -m infra.aggregates rebuild   repair every drifted row in one transaction

The recomputation is the SQL functions recompute_movie_ratings() and
recompute_movie_rating_daily() of migration 0005; the tests use the same functions.
A movie_rating_daily row whose count went back to zero (all its reviews were removed) is
equivalent to no row, so it is not drift; rebuild removes such rows.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from shared.db import build_engine
from shared.settings import Need, Settings

RATING_FIELDS = (
    "review_count",
    "positivity_sum",
    "positive_count",
    "neutral_count",
    "negative_count",
    "rating_sum",
    "rating_histogram",
    "model_versions",
)
DAILY_FIELDS = ("review_count", "positivity_sum")
LIVE_DAILY = "(SELECT * FROM movie_rating_daily WHERE review_count <> 0 OR positivity_sum <> 0)"


def _tuple(alias: str, fields: Sequence[str]) -> str:
    return "(" + ", ".join(f"{alias}.{name}" for name in fields) + ")"


def _columns(alias: str, fields: Sequence[str]) -> str:
    return ", ".join(f"{alias}.{name} AS {alias}_{name}" for name in fields)


RATINGS_DRIFT_SQL = f"""
SELECT coalesce(e.movie_id, a.movie_id) AS movie_id, e.movie_id IS NOT NULL AS e_present,
       a.movie_id IS NOT NULL AS a_present,
       {_columns("e", RATING_FIELDS)}, {_columns("a", RATING_FIELDS)}
FROM recompute_movie_ratings() e FULL JOIN movie_ratings a ON a.movie_id = e.movie_id
WHERE e.movie_id IS NULL OR a.movie_id IS NULL
   OR {_tuple("e", RATING_FIELDS)} IS DISTINCT FROM {_tuple("a", RATING_FIELDS)}
ORDER BY 1
"""  # noqa: S608

DAILY_DRIFT_SQL = f"""
SELECT coalesce(e.movie_id, a.movie_id) AS movie_id, coalesce(e.day, a.day) AS day,
       e.movie_id IS NOT NULL AS e_present, a.movie_id IS NOT NULL AS a_present,
       {_columns("e", DAILY_FIELDS)}, {_columns("a", DAILY_FIELDS)}
FROM recompute_movie_rating_daily() e
FULL JOIN {LIVE_DAILY} a ON a.movie_id = e.movie_id AND a.day = e.day
WHERE e.movie_id IS NULL OR a.movie_id IS NULL
   OR {_tuple("e", DAILY_FIELDS)} IS DISTINCT FROM {_tuple("a", DAILY_FIELDS)}
ORDER BY 1, 2
"""  # noqa: S608

REBUILD_SQL = (
    # writers of reviews wait (SHARE); readers of the aggregates go on (EXCLUSIVE allows reads)
    "LOCK TABLE reviews IN SHARE MODE",
    "LOCK TABLE movie_ratings, movie_rating_daily IN EXCLUSIVE MODE",
    f"""UPDATE movie_ratings a SET {", ".join(f"{n} = e.{n}" for n in RATING_FIELDS)},
           updated_at = clock_timestamp()
        FROM recompute_movie_ratings() e
        WHERE a.movie_id = e.movie_id
          AND {_tuple("e", RATING_FIELDS)} IS DISTINCT FROM {_tuple("a", RATING_FIELDS)}""",  # noqa: S608
    f"""INSERT INTO movie_ratings (movie_id, {", ".join(RATING_FIELDS)})
        SELECT e.movie_id, {", ".join(f"e.{n}" for n in RATING_FIELDS)}
        FROM recompute_movie_ratings() e
        WHERE NOT EXISTS (SELECT 1 FROM movie_ratings a WHERE a.movie_id = e.movie_id)""",  # noqa: S608
    f"""DELETE FROM movie_rating_daily a
        WHERE NOT EXISTS (
            SELECT 1 FROM recompute_movie_rating_daily() e
            WHERE e.movie_id = a.movie_id AND e.day = a.day
              AND {_tuple("e", DAILY_FIELDS)} = {_tuple("a", DAILY_FIELDS)})""",  # noqa: S608
    """INSERT INTO movie_rating_daily (movie_id, day, review_count, positivity_sum)
       SELECT e.movie_id, e.day, e.review_count, e.positivity_sum
       FROM recompute_movie_rating_daily() e
       ON CONFLICT (movie_id, day) DO NOTHING""",
)


@dataclass(slots=True)
class Drift:
    """Every drifted row of both aggregate tables."""

    ratings: list[dict[str, Any]] = field(default_factory=list)
    daily: list[dict[str, Any]] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.ratings and not self.daily

    def summary(self) -> dict[str, Any]:
        return {
            "summary": {
                "movie_ratings": len(self.ratings),
                "movie_rating_daily": len(self.daily),
                "drift": not self.clean,
            }
        }


def _side(row: Any, prefix: str, fields: Sequence[str]) -> dict[str, Any] | None:
    if not row[f"{prefix}_present"]:
        return None
    return {name: row[f"{prefix}_{name}"] for name in fields}


def _drift_rows(
    conn: sa.Connection, sql: str, key: Sequence[str], fields: Sequence[str]
) -> list[dict[str, Any]]:
    return [
        {
            **{name: row[name] for name in key},
            "expected": _side(row, "e", fields),
            "actual": _side(row, "a", fields),
        }
        for row in conn.execute(sa.text(sql)).mappings()
    ]


def verify(conn: sa.Connection) -> Drift:
    """Compare both aggregate tables with their recomputation (read-only)."""
    return Drift(
        ratings=_drift_rows(conn, RATINGS_DRIFT_SQL, ("movie_id",), RATING_FIELDS),
        daily=_drift_rows(conn, DAILY_DRIFT_SQL, ("movie_id", "day"), DAILY_FIELDS),
    )


def rebuild(conn: sa.Connection) -> Drift:
    """Repair every drifted row in the caller's transaction; returns what was repaired."""
    conn.execute(sa.text(REBUILD_SQL[0]))
    conn.execute(sa.text(REBUILD_SQL[1]))
    repaired = verify(conn)
    for statement in REBUILD_SQL[2:]:
        conn.execute(sa.text(statement))
    return repaired


def _json(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value.isoformat()


def _print(row: dict[str, Any]) -> None:
    print(json.dumps(row, default=_json, ensure_ascii=False))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.aggregates", description="verify or rebuild the rating aggregates"
    )
    parser.add_argument("action", choices=["verify", "rebuild"])
    args = parser.parse_args(argv)
    engine = build_engine(Settings().require(Need.DATABASE, process="infra.aggregates"))
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("SET LOCAL statement_timeout = 0"))
            drift = verify(conn) if args.action == "verify" else rebuild(conn)
    finally:
        engine.dispose()
    for row in drift.ratings:
        _print({"table": "movie_ratings", **row})
    for row in drift.daily:
        _print({"table": "movie_rating_daily", **row})
    if args.action == "rebuild":
        _print({"rebuilt": drift.summary()["summary"]})
        return 0
    _print(drift.summary())
    return 0 if drift.clean else 1


if __name__ == "__main__":
    sys.exit(main())
