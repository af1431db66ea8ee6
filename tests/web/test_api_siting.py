"""Siting over HTTP and on the CLI (the city door and the cost-matrix door)."""

from __future__ import annotations

import json
from pathlib import Path

from geo_service.cli import main
from geo_service.web.context import STORE_EXT


def _headers(app, role: str) -> dict[str, str]:
    _, token = app.extensions[STORE_EXT].create_credential(name=f"t-{role}", role=role, kind="user_token",
                                                          precinct_ids=["P-01"] if role == "inspector" else ())
    return {"Authorization": f"Bearer {token}"}


def test_solve_keeps_the_result_for_planners(app, client) -> None:
    body = {"model": "mclp", "minutes": 2, "p": 1, "existing": "none"}
    assert client.post("/api/v1/siting/solve", json=body).status_code == 401
    assert client.post("/api/v1/siting/solve", json=body, headers=_headers(app, "inspector")).status_code == 403
    planner = _headers(app, "planner")
    resp = client.post("/api/v1/siting/solve", json=body, headers=planner)
    assert resp.status_code == 201, resp.json
    result = resp.json
    assert result["status"] == "optimal" and len(result["chosen"]) == 1
    assert 0 < result["coverage"]["after"]["share"] <= 1
    assert result["coverage"]["before"]["share"] == 0  # no existing posts kept
    again = client.get(resp.headers["Location"], headers=planner)
    assert again.status_code == 200 and again.json["chosen"] == result["chosen"]
    assert client.get("/api/v1/siting/results/rs_nope", headers=planner).status_code == 404


def test_more_posts_cover_more(app, client) -> None:
    planner = _headers(app, "planner")
    shares = []
    for p in (1, 2, 3):
        r = client.post("/api/v1/siting/solve", json={"model": "mclp", "minutes": 2, "p": p, "existing": "none"},
                        headers=planner).json
        shares.append(r["coverage"]["after"]["share"])
    assert shares[0] <= shares[1] <= shares[2]


def test_bad_siting_requests(app, client) -> None:
    planner = _headers(app, "planner")
    for body in ({"model": "mclp", "minutes": 0, "p": 1}, {"model": "mclp", "minutes": 5},
                 {"model": "xyz", "minutes": 5, "p": 1}, {"model": "mclp", "minutes": 5, "p": 100000},
                 {"model": "mclp", "minutes": 5, "p": 1, "region": {"type": "Point", "coordinates": [1, 2]}},
                 {"model": "mclp", "minutes": 5, "p": 1, "candidates": [[43.25, 76.9]] * 2, "existing": "none",
                  "max_candidates": 1,
                  "region": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}}):
        resp = client.post("/api/v1/siting/solve", json=body, headers=planner)
        assert resp.status_code == 400, (body, resp.json)
        assert resp.content_type == "application/problem+json"


def test_cli_cost_matrix_door(tmp_path: Path, capsys) -> None:
    matrix = tmp_path / "matrix.csv"
    matrix.write_text("demand,weight,A,B,C\nd1,10,1,9,9\nd2,5,9,1,9\nd3,1,9,9,1\n", encoding="utf-8")
    assert main(["site", "--matrix", str(matrix), "--model", "mclp", "--minutes", "2", "--p", "2",
                 "--out", str(tmp_path / "r.json")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert sorted(c["label"] for c in out["chosen"]) == ["A", "B"]
    assert out["objective"] == 15
    full = json.loads((tmp_path / "r.json").read_text())
    assert full["model"] == "mclp"
    assert main(["site", "--matrix", str(matrix), "--model", "lscp", "--minutes", "2"]) == 0
    assert len(json.loads(capsys.readouterr().out)["chosen"]) == 3


def test_cli_site_errors(tmp_path: Path, capsys, built_tiny) -> None:
    assert main(["site", "--model", "mclp", "--minutes", "2", "--p", "1"]) == 2
    assert "give --bundle or --matrix" in capsys.readouterr().err
    assert main(["site", "--bundle", str(built_tiny), "--model", "mclp", "--minutes", "-1", "--p", "1"]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("geo-service: error: minutes")
