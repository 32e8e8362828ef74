from typing import Any

from shared import storage


def test_client_round_trips_through_the_emulator(gcs: Any) -> None:
    bucket = gcs.create_bucket("roundtrip")
    bucket.blob("a/b.txt").upload_from_string("안녕")
    assert storage.get_client().bucket("roundtrip").blob("a/b.txt").download_as_text() == "안녕"


def test_split_uri() -> None:
    assert storage.split_uri("gs://models/sentiment/v1/") == ("models", "sentiment/v1/")
