"""The fast column readers read every value as the driver's own readers do (real PostgreSQL)."""

from __future__ import annotations

import sqlalchemy as sa
from pg8000 import converters

from shared import db, db_types

VALUES = {
    "timestamptz": (
        converters.timestamptz_in,
        [
            "2026-12-05 08:20:50.123456+00",
            "2026-12-05 08:20:50+00",
            "2026-12-05 08:20:50.1+00",
            "infinity",
            "-infinity",
            "0044-03-15 12:00:00+00 BC",
        ],
    ),
    "timestamp": (converters.timestamp_in, ["2026-12-05 08:20:50.5", "infinity"]),
    "date": (converters.date_in, ["2019-05-30", "infinity", "0044-03-15 BC"]),
}


def test_fast_readers_read_what_the_driver_reads(database: str) -> None:
    with db.transaction() as conn:
        readers = conn.connection.dbapi_connection.pg_types  # type: ignore[union-attr]
        assert readers[converters.TIMESTAMPTZ] is db_types.READERS[converters.TIMESTAMPTZ]
        for kind, (driver_reader, texts) in VALUES.items():
            for text in texts:
                read = conn.execute(sa.text(f"SELECT CAST(:v AS {kind})"), {"v": text}).scalar()
                shown = conn.execute(
                    sa.text(f"SELECT CAST(CAST(:v AS {kind}) AS text)"), {"v": text}
                ).scalar()
                assert read == driver_reader(shown), (kind, text)
