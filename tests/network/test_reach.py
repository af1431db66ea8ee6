"""Routes, matrices and isochrones over the tiny city, core and HTTP."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from geo_service.bundle import load_bundle
from geo_service.errors import InputError
from geo_service.network.reach import grid_buffer, isochrone, travel_matrix, undirected
from geo_service.web.context import STORE_EXT
from tests.conftest import grid_latlon


def _token(app, role: str) -> dict[str, str]:
    kw = {"precinct_ids": ["P-01"]} if role == "inspector" else {}
    _, token = app.extensions[STORE_EXT].create_credential(name=f"t-{role}", role=role, kind="user_token"
                                                          if role != "external_system" else "api_key", **kw)
    return {"Authorization": f"Bearer {token}"}


def test_isochrone_grows_with_time_and_follows_streets(built_tiny) -> None:
    g = load_bundle(built_tiny).walk
    lat, lon = grid_latlon(0, 0)
    small = isochrone(g, lat, lon, 2)
    big = isochrone(g, lat, lon, 6)
    a, b = shapely.geometry.shape(small["geometry"]), shapely.geometry.shape(big["geometry"])
    assert small["properties"]["area_m2"] < big["properties"]["area_m2"]
    assert b.contains(shapely.Point(lon, lat))
    # 2 minutes at 4.8 km/h = 160 m: the next crossing (203 m east) is not reached.
    assert not a.contains(shapely.Point(*grid_latlon(0, 1)[::-1]))
    assert b.contains(shapely.Point(*grid_latlon(0, 1)[::-1]))
    # Street-shaped: the middle of a block is not reached even when its corners are.
    assert not b.contains(shapely.Point(*grid_latlon(1.5, 0.5)[::-1]))


def test_windowed_search_and_streets_are_what_a_full_search_finds(built_tiny) -> None:
    """The bounded search looks at a window of nodes and the query gathers streets from the
    reached nodes; a Dijkstra over the whole graph and a scan of every street find the same."""
    from scipy.sparse.csgraph import dijkstra

    g = load_bundle(built_tiny).walk
    und = undirected(g)
    csr = g.csr()
    for node in range(0, g.n_nodes, 3):
        for limit in (30.0, 150.0, 600.0):
            full = dijkstra(csr, indices=node, limit=limit)
            reached, seconds = und.search(node, limit)
            assert reached.tolist() == np.flatnonzero(np.isfinite(full)).tolist()
            assert np.allclose(seconds, full[reached])
            got = und.streets_of(reached, seconds)
            scan = np.flatnonzero(np.isfinite(full[und.tail]) | np.isfinite(full[und.head]))
            assert len(got) == len(set(got.tolist())) and sorted(got.tolist()) == scan.tolist()
            # The window is smaller than the graph for short searches, and holds every reached node.
            window = und.window(node, limit * und.speed)
            assert np.isin(reached, window).all()
            if limit == 30.0:
                assert len(window) < g.n_nodes


def test_grid_buffer_keeps_the_area_of_the_full_buffer() -> None:
    """A street grid's 25 m buffer drawn on the 10 m grid: within 8% of shapely's full buffer."""
    rng = np.random.default_rng(3)
    for _ in range(5):
        xs = np.cumsum(rng.uniform(60, 160, 8))
        ys = np.cumsum(rng.uniform(60, 160, 8))
        segs = [[[x, ys[0]], [x, ys[-1]]] for x in xs] + [[[xs[0], y], [xs[-1], y]] for y in ys]
        segs += [[[xs[0], ys[0]], [xs[3], ys[5]]]]  # and a diagonal
        segs = np.asarray(segs, dtype=float)
        full = shapely.buffer(shapely.multilinestrings(shapely.linestrings(segs)), 25)
        grid = grid_buffer(segs, 25.0)
        assert grid.is_valid and abs(grid.area / full.area - 1) < 0.08
        assert shapely.symmetric_difference(grid, full).area / full.area < 0.12


def test_isochrone_bad_minutes(built_tiny) -> None:
    g = load_bundle(built_tiny).walk
    for minutes in (0, -1, 500):
        with pytest.raises(InputError):
            isochrone(g, 43.25, 76.9, minutes)


def test_matrix_matches_single_routes(built_tiny) -> None:
    g = load_bundle(built_tiny).drive
    pts = np.array([grid_latlon(0, 0), grid_latlon(3, 3), grid_latlon(2, 1)])
    m = travel_matrix(g, pts, pts)["durations_s"]
    for i in range(3):
        for j in range(3):
            r = g.route(*pts[i], *pts[j])
            assert m[i][j] == pytest.approx(r.time_s, abs=0.05)
    with pytest.raises(InputError):
        travel_matrix(g, np.zeros((501, 2)), pts)


def test_route_endpoint_needs_a_role(app, client) -> None:
    (a, b), (c, d) = grid_latlon(0, 0), grid_latlon(3, 3)
    url = f"/api/v1/route?from={a},{b}&to={c},{d}&mode=drive"
    assert client.get(url).status_code == 401
    resp = client.get(url, headers=_token(app, "inspector"))
    assert resp.status_code == 200
    body = resp.json
    assert body["mode"] == "drive" and body["length_m"] > 1000
    assert body["geometry"]["type"] == "LineString" and len(body["geometry"]["coordinates"]) >= 7
    bad = client.get("/api/v1/route?from=1&to=2", headers=_token(app, "planner"))
    assert bad.status_code == 400 and bad.content_type == "application/problem+json"


def test_matrix_endpoint(app, client) -> None:
    body = {"sources": [list(grid_latlon(0, 0)), list(grid_latlon(3, 3))], "mode": "walk"}
    assert client.post("/api/v1/matrix", json=body).status_code == 401
    resp = client.post("/api/v1/matrix", json=body, headers=_token(app, "external_system"))
    assert resp.status_code == 200
    m = resp.json["durations_s"]
    assert m[0][0] == 0 and m[0][1] == pytest.approx(m[1][0]) and m[0][1] > 0
    headers = _token(app, "external_system")
    assert client.post("/api/v1/matrix", json={"sources": []}, headers=headers).status_code == 400


def test_isochrone_endpoint_is_public(client) -> None:
    lat, lon = grid_latlon(1, 1)
    resp = client.get(f"/api/v1/isochrone?lat={lat}&lon={lon}&minutes=5")
    assert resp.status_code == 200 and resp.content_type == "application/geo+json"
    assert resp.json["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert client.get(f"/api/v1/isochrone?lat={lat}&lon={lon}&minutes=abc").status_code == 400


def test_isochrone_outline_has_corners_only_and_keeps_the_area(built_tiny) -> None:
    """The grid outline's collinear vertices (one per cell edge) are dropped; the shape stays."""
    g = load_bundle(built_tiny).walk
    feat = isochrone(g, *grid_latlon(1, 1), 6)
    poly = shapely.geometry.shape(feat["geometry"])
    assert poly.is_valid
    local = shapely.transform(poly, lambda c: c * np.array([g.kx, g.ky]))
    assert abs(local.area / feat["properties"]["area_m2"] - 1) < 0.01
    for part in shapely.get_parts(local):
        ring = shapely.get_coordinates(part.exterior)[:-1]
        before, after = ring - np.roll(ring, 1, axis=0), np.roll(ring, -1, axis=0) - ring
        assert (np.abs(before[:, 0] * after[:, 1] - before[:, 1] * after[:, 0]) > 1e-3).all()
