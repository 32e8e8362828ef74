"""A database that goes away mid-test gives 503 problems, and service resumes when it is back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from infra import migrate
from infra.localpg import EmbeddedPostgres, free_port
from shared import db
from tests.conftest import use_database
from tests.support import function_client


@pytest.fixture
def own_postgres(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(tmp_path / "pg", free_port(), durable=True).start()
    url = server.create_database("app")
    migrate.upgrade_database(url)
    use_database(monkeypatch, url, DB_POOL_TIMEOUT="2")
    yield server
    db.dispose()
    server.stop("immediate")


def test_database_down_gives_503_and_recovers(
    own_postgres: EmbeddedPostgres, auth: dict[str, str]
) -> None:
    movies = function_client("movies")
    created = movies.post("/movies", json={"title": "살아있다"}, headers=auth)
    assert created.status_code == 201
    movie_id = created.get_json()["id"]

    own_postgres.stop("immediate")
    for response in (
        movies.get(f"/movies/{movie_id}"),
        movies.get("/readyz"),
        movies.post("/movies", json={"title": "x"}, headers=auth),
    ):
        assert response.status_code == 503
        assert response.mimetype == "application/problem+json"
        assert int(response.headers["Retry-After"]) > 0
        assert "Traceback" not in response.get_data(as_text=True)
    assert movies.get("/healthz").status_code == 200  # alive, just not ready

    own_postgres.start()
    assert movies.get("/readyz").status_code == 200
    assert movies.get(f"/movies/{movie_id}").get_json()["title"] == "살아있다"
    assert movies.post("/movies", json={"title": "돌아왔다"}, headers=auth).status_code == 201
