"""Building a city bundle from tiny generated OSM files, and from bad inputs."""

from __future__ import annotations

import json
import math
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import shapely

from geo_service.bundle import load_bundle
from geo_service.errors import InputError, InputFileError, ValidationFailed
from geo_service.ingest.build import BuildOptions, build_city
from tests.conftest import TWO_PRECINCTS, grid_latlon, node_id


def _build(osm: Path, out: Path, **kw: object) -> dict:
    return build_city(BuildOptions(osm=osm, out=out, **kw))  # type: ignore[arg-type]


@pytest.mark.parametrize("fixture", ["tiny_osm", "tiny_osm_bz2", "tiny_pbf"])
def test_every_format_builds_the_same_city(fixture: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    osm = request.getfixturevalue(fixture)
    manifest = _build(osm, tmp_path / "b")
    stats = manifest["osm_stats"]
    assert stats["highway_ways"] == 11  # 4 rows, 4 columns, clipped, piece, footway
    assert stats["ways_missing_nodes"] == 1  # the way clipped at the extract edge
    assert manifest["counts"]["addresses"] == 12  # 9 building outlines + 2 nodes + the police post
    assert manifest["counts"]["buildings"] == 9
    assert manifest["precinct_source"] == "derived"
    # The disconnected piece is dropped, and the grid (16 nodes + clipped stub) is kept.
    assert manifest["graph_stats"]["walk"]["pieces_dropped"] >= 1
    assert manifest["counts"]["walk_nodes"] == 17
    city = load_bundle(tmp_path / "b")
    assert 50 not in set(city.walk.node_osm.tolist())
    assert 9999 not in set(city.walk.node_osm.tolist())


def test_streets_keep_kazakh_and_russian_names(tiny_osm: Path, tmp_path: Path) -> None:
    _build(tiny_osm, tmp_path / "b")
    streets = load_bundle(tmp_path / "b").streets.set_index("name")
    assert streets.loc["проспект Абая", "name_kk"] == "Абай даңғылы"
    assert streets.loc["улица Кабанбай батыра", "name_kk"] == "Қабанбай батыр көшесі"
    # The middle point of a street lies on it (a node of row 0).
    lat0 = grid_latlon(0, 0)[0]
    assert streets.loc["проспект Абая", "lat"] == pytest.approx(lat0)
    expected = 3 * 0.0025 * 111195 * math.cos(math.radians(lat0))
    assert streets.loc["проспект Абая", "length_m"] == pytest.approx(expected, rel=0.01)


def test_oneway_street_is_one_way_for_cars_only(tiny_osm: Path, tmp_path: Path) -> None:
    _build(tiny_osm, tmp_path / "b")
    city = load_bundle(tmp_path / "b")
    (a_lat, a_lon), (b_lat, b_lon) = grid_latlon(0, 0), grid_latlon(3, 0)
    forward = city.drive.route(a_lat, a_lon, b_lat, b_lon)
    backward = city.drive.route(b_lat, b_lon, a_lat, a_lon)
    assert forward is not None and backward is not None
    # Forward runs along Жибек жолы (3 blocks); backward must detour via column 1.
    assert backward.length_m > forward.length_m + 300
    walk_f = city.walk.route(a_lat, a_lon, b_lat, b_lon)
    walk_b = city.walk.route(b_lat, b_lon, a_lat, a_lon)
    assert walk_f.length_m == pytest.approx(walk_b.length_m)
    # Walking 4.8 km/h.
    assert walk_f.time_s == pytest.approx(walk_f.length_m / (4.8 / 3.6), rel=0.01)


def test_routes_match_networkx_and_scipy(tiny_osm: Path, tmp_path: Path) -> None:
    import networkx as nx
    from scipy.sparse.csgraph import dijkstra

    _build(tiny_osm, tmp_path / "b")
    g = load_bundle(tmp_path / "b").drive
    nxg = nx.DiGraph()
    for t, h, w in zip(g.tail.tolist(), g.head.tolist(), g.time_ms.tolist()):
        nxg.add_edge(t, h, weight=w)
    nodes = np.arange(g.n_nodes)
    mat = g.matrix(nodes, nodes)
    ref = dijkstra(g.csr(), indices=nodes)
    np.testing.assert_allclose(mat, ref, rtol=1e-9)
    for s in nodes[:5]:
        for t in nodes[-5:]:
            time_s, path, arcs = g.node_route(int(s), int(t))
            assert time_s == pytest.approx(nx.shortest_path_length(nxg, int(s), int(t), weight="weight") / 1000)
            assert path[0] == s and path[-1] == t
            assert len(arcs) == len(path) - 1


def test_derived_precincts_cover_every_address_once(tiny_osm: Path, tmp_path: Path) -> None:
    _build(tiny_osm, tmp_path / "b")
    city = load_bundle(tmp_path / "b")
    assert len(city.precincts) == 2
    assert set(city.precincts.source) == {"derived"}
    assert set(city.posts.source) == {"OpenStreetMap amenity=police"}
    geoms = city.precincts.geometry.to_numpy()
    for lat, lon in zip(city.addresses.lat, city.addresses.lon):
        assert shapely.intersects_xy(geoms, lon, lat).sum() >= 1
        assert sum(shapely.contains_xy(g, lon, lat) for g in geoms) <= 1
    # Each post lies in its own precinct.
    for pid, lat, lon in zip(city.posts.precinct_id, city.posts.lat, city.posts.lon):
        own = city.precincts.set_index("precinct_id").loc[pid, "geometry"]
        assert shapely.contains_xy(own, lon, lat)
    overlap = shapely.intersection(geoms[0], geoms[1]).area
    assert overlap < 1e-12


def test_official_precincts_and_roster(built_tiny: Path) -> None:
    city = load_bundle(built_tiny)
    assert set(city.precincts.source) == {"official"}
    assert city.manifest["precinct_source"] == "official"
    assert sorted(city.roster.inspector_id) == ["UI-1", "UI-2"]
    assert city.roster.set_index("inspector_id").loc["UI-2", "inspector_name"] == "Айгүл Сейітова"
    # The roster's post coordinates became P-01's post.
    p01 = city.precincts.set_index("precinct_id").loc["P-01"]
    assert p01.post_id == "POST-P-01"
    assert city.summary()["counts"]["inspectors"] == 2


def test_clip_cuts_the_city(tiny_osm: Path, tmp_path: Path) -> None:
    (lat0, lon0), (lat1, lon1) = grid_latlon(-0.2, -0.2), grid_latlon(1.2, 1.2)
    manifest = _build(tiny_osm, tmp_path / "b", clip=f"{lon0},{lat0},{lon1},{lat1}")
    assert manifest["counts"]["walk_nodes"] == 4
    assert manifest["counts"]["addresses"] == 2  # a building and the police post
    with pytest.raises(InputError, match="not a valid bounding box"):
        _build(tiny_osm, tmp_path / "c", clip="77,43,76,44")


def test_missing_file_is_one_readable_line(tmp_path: Path) -> None:
    with pytest.raises(InputFileError) as exc:
        _build(tmp_path / "nope.osm.pbf", tmp_path / "b")
    assert "no such file" in exc.value.user_message and "\n" not in exc.value.user_message
    assert not (tmp_path / "b").exists()


def test_corrupt_pbf(tmp_path: Path, tiny_pbf: Path) -> None:
    bad = tmp_path / "bad.osm.pbf"
    bad.write_bytes(tiny_pbf.read_bytes()[:200])
    with pytest.raises(InputFileError, match="cannot read the OSM file"):
        _build(bad, tmp_path / "b")
    assert not (tmp_path / "b").exists()
    assert not list(tmp_path.glob(".b.tmp-*"))


def test_failed_build_keeps_the_old_bundle(tiny_osm: Path, tmp_path: Path,
                                           write_precincts: Callable[..., Path]) -> None:
    out = tmp_path / "b"
    first = _build(tiny_osm, out)
    overlapping = write_precincts({"A": (-0.5, -0.5, 3.5, 2.0), "B": (-0.5, 1.5, 3.5, 3.6)})
    with pytest.raises(ValidationFailed):
        _build(tiny_osm, out, precincts=overlapping)
    assert json.loads((out / "manifest.json").read_text())["bundle_version"] == first["bundle_version"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".b")] == []


def test_rebuild_replaces_the_bundle(tiny_osm: Path, tmp_path: Path, write_precincts: Callable[..., Path]) -> None:
    out = tmp_path / "b"
    _build(tiny_osm, out)
    _build(tiny_osm, out, precincts=write_precincts(TWO_PRECINCTS))
    assert load_bundle(out).manifest["precinct_source"] == "official"


def test_overlapping_precincts_are_fatal(tiny_osm: Path, tmp_path: Path, write_precincts: Callable[..., Path]) -> None:
    path = write_precincts({"A": (-0.5, -0.5, 3.5, 2.0), "B": (-0.5, 1.5, 3.5, 3.6)})
    with pytest.raises(ValidationFailed) as exc:
        _build(tiny_osm, tmp_path / "b", precincts=path)
    lines = [p for p in exc.value.problems if "overlap" in p]
    assert len(lines) == 1
    assert lines[0].startswith("error: precincts.geojson: precincts A and B: overlap by ")
    assert "fix: " in lines[0]


def test_self_intersecting_ring_is_fatal(tiny_osm: Path, tmp_path: Path, write_precincts: Callable[..., Path]) -> None:
    (a, b), (c, d) = grid_latlon(0, 0), grid_latlon(3, 3)
    bowtie = [[[b, a], [d, c], [d, a], [b, c], [b, a]]]
    path = write_precincts({"X": (0, 0, 0, 0)}, coords={"X": bowtie})
    with pytest.raises(ValidationFailed) as exc:
        _build(tiny_osm, tmp_path / "b", precincts=path)
    assert any("feature 1 (precinct X): invalid polygon: Self-intersection" in p for p in exc.value.problems)


def test_gap_inside_the_built_up_area_is_reported(tiny_osm: Path, tmp_path: Path,
                                                   write_precincts: Callable[..., Path]) -> None:
    # Column 1-2 blocks fall between the two precincts.
    path = write_precincts({"A": (-0.5, -0.5, 3.5, 1.2), "B": (-0.5, 1.8, 3.5, 3.6)})
    manifest = _build(tiny_osm, tmp_path / "b", precincts=path)
    gaps = [p for p in manifest["problems"] if "(a gap)" in p]
    assert len(gaps) == 1 and gaps[0].startswith("warning: precincts.geojson: layer: 6 addresses/buildings")


def test_precincts_without_crs_are_fatal(tiny_osm: Path, tmp_path: Path) -> None:
    import geopandas as gpd

    rect = shapely.box(*grid_latlon(-0.5, -0.5)[::-1], *grid_latlon(3.5, 3.5)[::-1])
    gdf = gpd.GeoDataFrame({"precinct_id": ["A"]}, geometry=[rect])  # no CRS
    shp = tmp_path / "precincts.shp"
    with warnings.catch_warnings():
        # A real Shapefile: no .prj, and "precinct_id" becomes "precinct_i".
        warnings.simplefilter("ignore")
        gdf.to_file(shp)
    assert not shp.with_suffix(".prj").exists()
    with pytest.raises(ValidationFailed) as exc:
        _build(tiny_osm, tmp_path / "b", precincts=shp)
    assert any("no CRS" in p and "--precincts-crs" in p for p in exc.value.problems)
    # With the CRS given it builds.
    manifest = _build(tiny_osm, tmp_path / "b", precincts=shp, precincts_crs="EPSG:4326")
    assert manifest["precinct_source"] == "official"


def test_precincts_in_another_crs_are_reprojected(tiny_osm: Path, tmp_path: Path) -> None:
    import geopandas as gpd

    rect = shapely.box(*grid_latlon(-0.5, -0.5)[::-1], *grid_latlon(3.5, 3.5)[::-1])
    gdf = gpd.GeoDataFrame({"precinct_id": ["A"]}, geometry=[rect], crs=4326).to_crs(32643)
    path = tmp_path / "precincts.gpkg"
    gdf.to_file(path)
    _build(tiny_osm, tmp_path / "b", precincts=path)
    geom = load_bundle(tmp_path / "b").precincts.geometry.iloc[0]
    assert geom.bounds == pytest.approx(rect.bounds, abs=1e-6)


def test_swapped_axes_are_named(tiny_osm: Path, tmp_path: Path, write_precincts: Callable[..., Path]) -> None:
    (a, b), (c, d) = grid_latlon(-0.5, -0.5), grid_latlon(3.5, 3.5)
    swapped = [[[a, b], [a, d], [c, d], [c, b], [a, b]]]
    path = write_precincts({"S": (0, 0, 0, 0)}, coords={"S": swapped})
    with pytest.raises(ValidationFailed) as exc:
        _build(tiny_osm, tmp_path / "b", precincts=path)
    assert any("swapped" in p for p in exc.value.problems)


def test_roster_row_for_unknown_precinct_is_fatal(tiny_osm: Path, tmp_path: Path, write_precincts: Callable[..., Path],
                                                  write_roster: Callable[..., Path]) -> None:
    roster = write_roster([("UI-9", "P-99", "Иван Петров", "лейтенант", "+7", "Пн 17-20", "", "", ""),
                           ("UI-1", "P-01", "Серік", "майор", "+7", "Вт 17-20", "", "", "")])
    with pytest.raises(ValidationFailed) as exc:
        _build(tiny_osm, tmp_path / "b", precincts=write_precincts(TWO_PRECINCTS), roster=roster)
    unknown = [p for p in exc.value.problems if "P-99" in p]
    assert unknown == [unknown[0]] and unknown[0].startswith("error: roster.csv: row 2 (inspector UI-9)")
    # P-02 has nobody: a warning, not an error.
    assert any(p.startswith("warning: precincts.geojson: precinct P-02: no inspector") for p in exc.value.problems)


def test_roster_without_required_columns(tiny_osm: Path, tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\n1,x\n", encoding="utf-8")
    with pytest.raises(ValidationFailed) as exc:
        _build(tiny_osm, tmp_path / "b", roster=roster)
    assert any("missing column(s) inspector_id, precinct_id" in p for p in exc.value.problems)


def test_roster_posts_drive_derived_precincts(tiny_osm: Path, tmp_path: Path,
                                              write_roster: Callable[..., Path]) -> None:
    lat1, lon1 = grid_latlon(0.3, 0.3)
    lat2, lon2 = grid_latlon(2.7, 2.7)
    roster = write_roster([("UI-1", "U1", "A", "r", "p", "h", f"{lat1}", f"{lon1}", "x"),
                           ("UI-2", "U2", "B", "r", "p", "h", f"{lat2}", f"{lon2}", "y"),
                           ("UI-3", "U2", "C", "r", "p", "h", "", "", "")])
    _build(tiny_osm, tmp_path / "b", roster=roster)
    city = load_bundle(tmp_path / "b")
    assert sorted(city.precincts.precinct_id) == ["U1", "U2"]
    assert set(city.posts.source) == {"roster"}


def test_posts_file_csv(tiny_osm: Path, tmp_path: Path) -> None:
    lat, lon = grid_latlon(1.5, 1.5)
    posts = tmp_path / "posts.csv"
    posts.write_text(f"post_id;name;lat;lon\nK1;Кобан 1;{lat};{lon}\n", encoding="utf-8")
    _build(tiny_osm, tmp_path / "b", posts=posts)
    city = load_bundle(tmp_path / "b")
    assert city.precincts.name.tolist() == ["Кобан 1"]
    assert city.posts.precinct_id.tolist() == ["D01"]


def test_no_roads_in_clip(tiny_osm: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no roads"):
        _build(tiny_osm, tmp_path / "b", clip="10,10,11,11")


def test_bundle_errors(tmp_path: Path, tiny_osm: Path) -> None:
    from geo_service.errors import BundleError

    with pytest.raises(BundleError, match="no city bundle"):
        load_bundle(tmp_path / "none")
    _build(tiny_osm, tmp_path / "b")
    (tmp_path / "b" / "graph_walk.npz").unlink()
    with pytest.raises(BundleError, match="incomplete"):
        load_bundle(tmp_path / "b")


def test_bundle_layers_are_geoparquet(built_tiny: Path) -> None:
    import geopandas as gpd

    gdf = gpd.read_parquet(built_tiny / "precincts.parquet")
    assert gdf.crs.to_epsg() == 4326
    assert sorted(gdf.precinct_id) == ["P-01", "P-02"]
    assert not zipfile.is_zipfile(built_tiny / "manifest.json")
    assert node_id(0, 0) in set(load_bundle(built_tiny).walk.node_osm.tolist())
