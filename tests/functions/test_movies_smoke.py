def test_create_and_get(movies, auth):
    r = movies.post("/movies", json={"title": "  기생충 ", "release_date": "2019-05-30"}, headers=auth)
    assert r.status_code == 201, r.get_data(as_text=True)
    body = r.get_json()
    assert body["title"] == "기생충"
    r = movies.get(f"/movies/{body['id']}")
    assert r.status_code == 200
    assert r.get_json() == body
