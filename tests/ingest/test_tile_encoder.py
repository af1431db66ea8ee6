"""The base map's tiles (#21, #18): the numpy encoder against mapbox_vector_tile's decoder, the
precincts layer with ids, names and sources, and the precinct map without inline polygons."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import mapbox_vector_tile  # type: ignore[import-untyped]
import numpy as np
import shapely

from geo_service.ingest.mvt import LINE, POINT, POLYGON, encode_layer, encode_tile
from geo_service.ingest.tiles import MAX_ZOOM, TILES_FILE, tile_bounds, tiles_of_bbox
from tests.conftest import grid_latlon

BOX = (0.0, 0.0, 4096.0, 4096.0)  # a tile whose units are the source's: y flips, nothing scales


def _decode(data: bytes) -> dict[str, Any]:
    return mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})


def test_lines_points_and_properties_round_trip() -> None:
    lines = np.array([shapely.LineString([(0, 4096), (10, 4086), (10.2, 4085.8), (20, 4000)]),
                      shapely.MultiLineString([[(1, 1), (2, 2)], [(3, 3), (3.1, 3.1)], [(5, 5), (6, 7)]]),
                      shapely.LineString([(7, 7), (7.2, 7.1)])], dtype=object)
    tile = encode_tile([
        encode_layer("roads", lines, LINE, {"name": np.array(["Абая", "", "<b>x</b>"], dtype=object),
                                            "kind": np.array(["major", "street", "path"], dtype=object)}, BOX),
        encode_layer("labels", np.array([shapely.Point(5, 6)], dtype=object), POINT,
                     {"id": np.array(["P-1"], dtype=object)}, BOX)])
    roads = _decode(tile)["roads"]
    assert roads["extent"] == 4096 and roads["version"] == 2
    feats = roads["features"]
    # The rounded repeat (10.2, 4085.8) is gone; a line that rounds to one point is left out, as is
    # the empty name; y runs down from the tile's top.
    assert feats[0]["geometry"]["coordinates"] == [[0, 0], [10, 10], [20, 96]]
    assert feats[0]["properties"] == {"name": "Абая", "kind": "major"}
    assert feats[1]["geometry"] == {"type": "MultiLineString", "coordinates": [[[1, 4095], [2, 4094]],
                                                                               [[5, 4091], [6, 4089]]]}
    assert feats[1]["properties"] == {"kind": "street"} and len(feats) == 2
    assert _decode(tile)["labels"]["features"][0]["geometry"]["coordinates"] == [5, 4090]


def test_polygons_are_oriented_and_keep_their_holes() -> None:
    # Given in both orientations; the decoder tells holes from exteriors by their winding only.
    outer = shapely.Polygon([(0, 0), (0, 100), (100, 100), (100, 0)], [[(10, 10), (20, 10), (20, 20), (10, 20)]])
    reverse = shapely.Polygon(outer.exterior.coords[::-1], [outer.interiors[0].coords[::-1]])
    multi = shapely.MultiPolygon([shapely.box(200, 200, 300, 300), shapely.box(400, 400, 400.2, 400.2)])
    layer = encode_layer("precincts", np.array([outer, reverse, multi], dtype=object), POLYGON,
                         {"id": np.array(["A", "B", "C"], dtype=object)}, BOX)
    feats = _decode(encode_tile([layer]))["precincts"]["features"]
    assert [f["properties"]["id"] for f in feats] == ["A", "B", "C"]
    for f in feats[:2]:
        shape = shapely.geometry.shape(f["geometry"])
        assert shape.geom_type == "Polygon" and len(shape.interiors) == 1 and shape.area == 100 * 100 - 10 * 10
    # The sliver that rounds to nothing is dropped; the square stays.
    assert shapely.geometry.shape(feats[2]["geometry"]).area == 100 * 100


def test_nothing_to_draw_is_no_layer() -> None:
    assert encode_layer("roads", np.array([shapely.LineString([(1, 1), (1.1, 1.1)])], dtype=object), LINE,
                        {"name": np.array(["x"], dtype=object)}, BOX) == b""
    assert encode_tile([b""]) == b""


def _tile_at(bundle: Path, lat: float, lon: float, z: int) -> dict[str, Any]:
    from geo_service.web.static_assets import TileArchive

    archive = TileArchive.open(bundle / TILES_FILE)
    assert archive is not None
    x, y, _, _ = tiles_of_bbox([lon, lat, lon, lat], z)
    data = archive.tile(z, x, y)
    assert data is not None
    return _decode(gzip.decompress(data))


def test_bundle_tiles_carry_the_precincts(built_tiny: Path) -> None:
    lat, lon = grid_latlon(1.0, 0.5)
    layers = _tile_at(built_tiny, lat, lon, MAX_ZOOM)
    polys = {f["properties"]["id"]: f for f in layers["precincts"]["features"]}
    assert polys["P-01"]["properties"] == {"id": "P-01", "name": "Участок P-01", "source": "official"}
    assert polys["P-01"]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    # The point lies inside P-01's polygon in the tile's units.
    x, y, _, _ = tiles_of_bbox([lon, lat, lon, lat], MAX_ZOOM)
    minx, miny, maxx, maxy = tile_bounds(MAX_ZOOM, x, y)
    mx, my = shapely.transform(shapely.Point(lon, lat), _mercator).coords[0]
    at = shapely.Point((mx - minx) / (maxx - minx) * 4096, (maxy - my) / (maxy - miny) * 4096)
    assert shapely.geometry.shape(polys["P-01"]["geometry"]).buffer(2).contains(at)
    # Labels: one point per precinct, in one tile only, with the id and name.
    labels = [f for z in range(8, MAX_ZOOM + 1) for f in _tile_at(built_tiny, lat, lon, z).get("labels", {})
              .get("features", []) if f["properties"]["id"] == "P-01"]
    assert labels and all(f["properties"]["name"] == "Участок P-01" for f in labels)


def _mercator(c: np.ndarray) -> np.ndarray:
    from geo_service.ingest.tiles import mercator as m

    return m(c)


def test_precinct_map_has_no_inline_polygons_with_tiles(client: Any) -> None:
    html = client.get("/precincts/map?lang=en").get_data(as_text=True)
    assert '"type":"Polygon"' not in html.replace(" ", "") and "MultiPolygon" not in html
    assert '"fill":true' in html and "GeoServiceBase.add(" in html
    assert "Серік Ахметов" not in html and "+7 727" not in html  # the card comes from the API
    assert 'id="gs-here"' in html and "gs-legend-item" not in html


def test_tiled_page_weight_does_not_grow_with_precincts() -> None:
    """Rendered with 2 and with 400 precincts (no posts): the same page but for folium's random ids."""
    from geo_service import pages

    class City:
        manifest = {"city": "x", "bbox": [76.8, 43.2, 77.0, 43.3], "attribution": "© OSM"}
        addresses = None

    tiles = {"url": "/tiles/v/{z}/{x}/{y}.mvt", "max_zoom": 14, "bounds": [76.8, 43.2, 77.0, 43.3]}
    sizes = []
    for n in (2, 400):
        features = [{"type": "Feature", "geometry": None,
                     "properties": {"id": f"P{i}", "name": f"Precinct {i}", "post": None}} for i in range(n)]
        html = pages.precinct_page(City(), {"type": "FeatureCollection", "features": features}, lang="en",
                                   tiles=tiles)
        assert "Precinct 1" not in html
        sizes.append(len(html))
    assert abs(sizes[0] - sizes[1]) < 100, sizes
