"""The lookup endpoints over HTTP (Flask test client): answers, problems, limits."""

from __future__ import annotations

import json

import pytest

from geo_service.web.context import STORE_EXT
from geo_service.web.security import assert_every_route_declares_access
from tests.conftest import grid_latlon


@pytest.fixture()
def api_key(app) -> str:
    _, token = app.extensions[STORE_EXT].create_credential(name="dispatch-102", role="external_system")
    return token


def test_lookup_by_coordinates(client) -> None:
    lat, lon = grid_latlon(1, 0.5)
    resp = client.get(f"/api/v1/lookup?lat={lat}&lon={lon}")
    assert resp.status_code == 200 and resp.content_type == "application/json"
    body = resp.json
    assert body["precinct"]["id"] == "P-01"
    assert body["inspectors"][0]["name"] == "Серік Ахметов"
    assert body["travel_to_post"]["walk"]["minutes"] > 0


def test_lookup_by_address_get_and_post(client) -> None:
    got = client.get("/api/v1/lookup", query_string={"address": "Абай даңғылы 150"}).json
    posted = client.post("/api/v1/lookup", json={"address": "Абай даңғылы 150"}).json
    assert got == posted
    assert got["candidates"][0]["precinct"]["id"] == "P-01"
    assert got["candidates"][0]["housenumber"] == "150"


@pytest.mark.parametrize("query, status", [
    ("lat=100&lon=76.9", 400), ("lat=43.25", 400), ("lat=x&lon=1", 400), ("address=", 400),
    ("address=" + "а" * 201, 400), ("lat=43.25&lon=76.9&address=Абая", 400), ("foo=1", 400),
    ("address=qqqq%20zzzz", 404),
])
def test_bad_queries_are_problems(client, query: str, status: int) -> None:
    resp = client.get(f"/api/v1/lookup?{query}")
    assert resp.status_code == status
    assert resp.content_type == "application/problem+json"
    assert resp.json["status"] == status and resp.json["detail"]
    assert "Traceback" not in resp.get_data(as_text=True)


def test_outside_and_swapped(client) -> None:
    lat, lon = grid_latlon(1, 5)
    resp = client.get(f"/api/v1/lookup?lat={lat}&lon={lon}")
    assert resp.status_code == 404 and resp.json["nearest_precinct"]["id"] == "P-02"
    assert resp.json["distance_m"] > 100
    lat, lon = grid_latlon(1, 1)
    resp = client.get(f"/api/v1/lookup?lat={lon}&lon={lat}")
    assert resp.status_code == 422 and "swapped" in resp.json["detail"]


def test_malformed_json(client) -> None:
    for data in ('{"lat": ', "[1, 2]", '"text"', "{" * 100 + "}" * 100):
        resp = client.post("/api/v1/lookup", data=data, content_type="application/json")
        assert resp.status_code == 400, data
        assert resp.content_type == "application/problem+json"
    resp = client.post("/api/v1/lookup", json={"lat": 43.25, "lon": 76.9, "evil": "__import__('os')"})
    assert resp.status_code == 400 and "evil" in resp.json["detail"]


def test_batch_needs_a_key_and_answers_each_item(client, api_key: str) -> None:
    items = [{"id": 1, "lat": grid_latlon(1, 0.5)[0], "lon": grid_latlon(1, 0.5)[1]},
             {"id": 2, "address": "Пушкина 13/1"}, {"id": 3, "lat": 91, "lon": 0}]
    assert client.post("/api/v1/lookup/batch", json={"items": items}).status_code == 401
    resp = client.post("/api/v1/lookup/batch", json={"items": items}, headers={"X-API-Key": api_key})
    assert resp.status_code == 200
    results = resp.json["results"]
    assert [r["id"] for r in results] == [1, 2, 3]
    assert results[0]["precinct"]["id"] == "P-01"
    assert results[2]["error"]["status"] == 400


def test_oversized_batch(client, api_key: str) -> None:
    items = [{"lat": 43.25, "lon": 76.9}] * 10_001
    resp = client.post("/api/v1/lookup/batch", data=json.dumps({"items": items}), content_type="application/json",
                       headers={"X-API-Key": api_key})
    assert resp.status_code in (400, 413)
    assert resp.content_type == "application/problem+json"


def test_precincts_feature_collection(client) -> None:
    resp = client.get("/api/v1/precincts")
    assert resp.status_code == 200 and resp.content_type == "application/geo+json"
    fc = resp.json
    assert fc["type"] == "FeatureCollection" and [f["id"] for f in fc["features"]] == ["P-01", "P-02"]
    one = client.get("/api/v1/precincts/P-02").json
    assert one["properties"]["inspectors"][0]["name"] == "Айгүл Сейітова"
    assert client.get("/api/v1/precincts/P-99").status_code == 404


def test_openapi_document(client) -> None:
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.")
    for path in ("/api/v1/lookup", "/api/v1/lookup/batch", "/api/v1/precincts", "/api/v1/precincts/{precinct_id}"):
        assert path in doc["paths"]
    address = doc["components"]["schemas"]["LookupBody"]["properties"]["address"]
    assert {"type": "string", "minLength": 1, "maxLength": 200} in [
        {k: v for k, v in s.items() if k in ("type", "minLength", "maxLength")} for s in address["anyOf"]]


def test_every_route_declares_access(app) -> None:
    assert_every_route_declares_access(app)
