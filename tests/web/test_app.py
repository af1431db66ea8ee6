"""The Flask app: health endpoints, problem+json errors, no city loaded."""

from __future__ import annotations

from geo_service import create_app


def test_livez_and_readyz(client) -> None:
    assert client.get("/livez").json == {"status": "ok"}
    body = client.get("/readyz").json
    assert body["status"] == "ready"
    assert body["city"] == "tiny"
    assert body["precinct_source"] == "official"
    assert body["bundle_version"].startswith("tiny-")
    counts = body["counts"]
    assert counts["precincts"] == 2 and counts["inspectors"] == 2 and counts["addresses"] == 12
    assert counts["walk_nodes"] == 17 and counts["walk_edges"] > 0 and counts["drive_edges"] > 0


def test_not_ready_without_a_bundle(monkeypatch) -> None:
    monkeypatch.delenv("GEO_SERVICE_BUNDLE", raising=False)
    client = create_app({"TESTING": True}).test_client()
    assert client.get("/livez").status_code == 200
    resp = client.get("/readyz")
    assert resp.status_code == 503
    assert resp.content_type == "application/problem+json"
    assert "GEO_SERVICE_BUNDLE" in resp.json["detail"]


def test_bundle_from_environment(monkeypatch, built_tiny) -> None:
    monkeypatch.setenv("GEO_SERVICE_BUNDLE", str(built_tiny))
    assert create_app().test_client().get("/readyz").json["city"] == "tiny"


def test_unknown_path_and_method_are_problems(client) -> None:
    resp = client.get("/no/such/thing")
    assert resp.status_code == 404 and resp.content_type == "application/problem+json"
    assert resp.json["status"] == 404 and resp.json["title"] == "Not Found"
    resp = client.post("/readyz")
    assert resp.status_code == 405 and "GET" in resp.headers["Allow"]
    assert "Traceback" not in resp.get_data(as_text=True)
