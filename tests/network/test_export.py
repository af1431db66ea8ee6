"""The road graph exported for planners' tools (issue 21): osmnx reads the GraphML back with its
types, geopandas the GeoPackage, and a shortest path by travel time in osmnx's graph is the
service's own route."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from geo_service.cli import main
from tests.conftest import grid_latlon


@pytest.mark.parametrize("mode", ["walk", "drive"])
def test_osmnx_loads_the_graphml_and_routes_as_the_service(built_tiny: Path, tmp_path: Path, mode: str,
                                                           capsys) -> None:
    import networkx as nx
    import osmnx as ox

    from geo_service.bundle import load_bundle

    out = tmp_path / f"{mode}.graphml"
    assert main(["export", "--bundle", str(built_tiny), "--graph", mode, "--format", "graphml",
                 "--out", str(out)]) == 0
    written = json.loads(capsys.readouterr().out)
    graph = load_bundle(built_tiny).graph(mode)
    assert written["nodes"] == graph.n_nodes and written["edges"] == graph.n_edges
    g = ox.load_graphml(out)
    assert g.graph["crs"] == "EPSG:4326" and g.number_of_edges() == graph.n_edges
    u, v, data = next(iter(g.edges(data=True)))
    assert isinstance(u, int) and isinstance(data["travel_time"], float) and isinstance(data["length"], float)
    assert isinstance(g.nodes[u]["x"], float) and -180 <= g.nodes[u]["x"] <= 180
    # Service route vs osmnx shortest path between the same snapped nodes.
    a, b = grid_latlon(0.2, 0.2), grid_latlon(3.6, 1.7)
    route = graph.route(a[0], a[1], b[0], b[1])
    assert route is not None and route.time_s > 60
    src = ox.distance.nearest_nodes(g, a[1], a[0])
    dst = ox.distance.nearest_nodes(g, b[1], b[0])
    assert src == int(graph.node_osm[route.snap_from.node]) and dst == int(graph.node_osm[route.snap_to.node])
    path = ox.shortest_path(g, src, dst, weight="travel_time")
    seconds = nx.path_weight(g, path, weight="travel_time")
    assert seconds == pytest.approx(route.time_s, abs=0.5)
    metres = sum(min(d["length"] for d in g.get_edge_data(p, q).values()) for p, q in zip(path, path[1:]))
    assert metres == pytest.approx(route.length_m, rel=0.02)


def test_geopandas_reads_the_geopackage(built_tiny: Path, tmp_path: Path, capsys) -> None:
    import geopandas as gpd

    out = tmp_path / "walk.gpkg"
    assert main(["export", "--bundle", str(built_tiny), "--format", "gpkg", "--out", str(out)]) == 0
    capsys.readouterr()
    edges = gpd.read_file(out, layer="edges")
    nodes = gpd.read_file(out, layer="nodes")
    assert {"u", "v", "key", "osmid", "name", "length", "travel_time", "speed_kph"} <= set(edges.columns)
    assert len(nodes) > 10 and len(edges) > len(nodes) and edges.crs.to_epsg() == 4326
    assert (edges.travel_time > 0).all() and edges.geometry.geom_type.eq("LineString").all()
    assert "улица Пушкина" in set(edges.name)


def test_export_refuses_bad_input_in_one_line(built_tiny: Path, tmp_path: Path, capsys) -> None:
    code = main(["export", "--bundle", str(built_tiny), "--out", str(tmp_path / "nope" / "g.graphml")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "no such folder" in err[0]


def test_build_takes_the_city_name_per_language(tiny_osm: Path, tmp_path: Path, capsys) -> None:
    from geo_service.bundle import load_bundle

    out = tmp_path / "b"
    assert main(["build", "--osm", str(tiny_osm), "--out", str(out), "--quiet",
                 "--city-name", "kk=Алматы, ru=Алматы ,en=Almaty"]) == 0
    assert load_bundle(out).manifest["city_names"] == {"kk": "Алматы", "ru": "Алматы", "en": "Almaty"}
    capsys.readouterr()
    assert main(["build", "--osm", str(tiny_osm), "--out", str(tmp_path / "c"), "--city-name", "Almaty"]) == 2
    assert "--city-name" in capsys.readouterr().err
