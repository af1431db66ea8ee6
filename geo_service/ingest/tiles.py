"""The base map as vector tiles, written at build: roads, precinct borders and labels in one
PMTiles archive (``tiles.pmtiles``), so no page carries the city's roads inline.

Layers (Mapbox Vector Tile 2.1, extent 4096, gzip-compressed tiles):

``roads``
    one line per street (segments of the walking graph merged per name and kind), with
    ``name`` and ``kind``: ``major`` (a driving road of 45 km/h or more), ``street`` (any
    other driving road), ``path`` (walking only). Zooms below 11 carry major roads only,
    11-12 major roads and streets, 13 and above everything.
``precincts``
    the precinct polygons with ``id`` and ``name`` (their borders are drawn).
``labels``
    one point per precinct (inside it) with ``id`` and ``name``.

Tiles exist from `MIN_ZOOM` to `MAX_ZOOM` for the area that has data; the pages' renderer
draws zooms past `MAX_ZOOM` from the `MAX_ZOOM` tiles (overzoom), which keep about 0.6 m
of detail. Work and output grow with the roads and the area, not with the pages: a
country's extract makes more tiles, a page still loads only those it shows.
The archive's metadata holds the layers, the bounds and the counts.
"""

from __future__ import annotations

import gzip
import json
import math
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import shapely
from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer

from geo_service.ingest.mvt import LINE, POINT, POLYGON, encode_layers, encode_tile

__all__ = ["MAX_ZOOM", "MIN_ZOOM", "TILES_FILE", "road_features", "tile_bounds", "tiles_of_bbox", "write_tiles"]

TILES_FILE: Final[str] = "tiles.pmtiles"
MIN_ZOOM: Final[int] = 8
MAX_ZOOM: Final[int] = 14
EXTENT: Final[int] = 4096
#: Tile edge overlap in tile units, so lines meet across tile borders without seams.
BUFFER: Final[int] = 64
#: gzip level of the tiles (9 makes them about 1 % smaller at twice the time).
GZIP_LEVEL: Final[int] = 6
#: Clipped geometries encoded together (one `encode_layers` call); bounds the memory of a zoom's pieces.
ENCODE_BATCH: Final[int] = 200_000
#: Roads are merged into lines within squares of this side (degrees, about 5 km).
MERGE_CELL_DEG: Final[float] = 0.05
#: Driving speed (km/h) from which a road is drawn as major.
MAJOR_KMH: Final[float] = 45.0
#: The first zoom at which each kind of road is in the tiles.
KIND_MIN_ZOOM: Final[dict[str, int]] = {"major": MIN_ZOOM, "street": 11, "path": 13}

_R: Final[float] = 6378137.0
_WORLD: Final[float] = 2 * math.pi * _R
_MAX_LAT: Final[float] = 85.05112878


def mercator(coords: np.ndarray) -> np.ndarray:
    """(lon, lat) degrees -> Web Mercator metres (EPSG:3857)."""
    lon = np.radians(coords[:, 0])
    lat = np.radians(np.clip(coords[:, 1], -_MAX_LAT, _MAX_LAT))
    return np.column_stack([_R * lon, _R * np.log(np.tan(np.pi / 4 + lat / 2))])


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """Web Mercator bounds (minx, miny, maxx, maxy) of tile ``z/x/y`` (y counted from the north)."""
    span = _WORLD / (1 << z)
    minx = -_WORLD / 2 + x * span
    maxy = _WORLD / 2 - y * span
    return minx, maxy - span, minx + span, maxy


def tiles_of_bbox(bbox: Sequence[float], z: int) -> tuple[int, int, int, int]:
    """The tile range (x0, y0, x1, y1, inclusive) covering ``bbox`` [minlon, minlat, maxlon, maxlat] at ``z``."""
    n = 1 << z
    (mx0, my0), (mx1, my1) = mercator(np.array([[bbox[0], bbox[1]], [bbox[2], bbox[3]]], dtype=np.float64))
    span = _WORLD / n

    def col(mx: float) -> int:
        return int(min(n - 1, max(0, math.floor((mx + _WORLD / 2) / span))))

    def row(my: float) -> int:
        return int(min(n - 1, max(0, math.floor((_WORLD / 2 - my) / span))))

    return col(mx0), row(my1), col(mx1), row(my0)


def road_features(graph_arrays: Mapping[str, tuple[Mapping[str, np.ndarray], list[str], Any]]) -> pd.DataFrame:
    """The streets to draw: one row per merged line (``geometry`` in lon/lat, ``name``, ``kind``).

    Each street segment of the walking graph is drawn once (both directions are one line);
    its kind comes from the driving graph (the segment's way is a driving road, and how
    fast). Segments are merged into longer lines per name and kind.
    """
    walk, names, _ = graph_arrays["walk"]
    tail, head = np.asarray(walk["tail"]), np.asarray(walk["head"])
    lo, hi = np.minimum(tail, head), np.maximum(tail, head)
    keep = lo != hi
    frame = pd.DataFrame({"lo": lo[keep], "hi": hi[keep], "name_id": np.asarray(walk["name_id"])[keep],
                          "way_id": np.asarray(walk["way_id"])[keep]}).drop_duplicates(["lo", "hi"])
    if frame.empty:
        return pd.DataFrame({"geometry": np.zeros(0, dtype=object), "name": [], "kind": []})
    drive = graph_arrays.get("drive", ({}, [], None))[0]
    speed = pd.Series(dtype=np.float64)
    if len(drive.get("tail", ())):
        kmh = np.asarray(drive["length_m"], dtype=np.float64) / np.maximum(
            np.asarray(drive["time_ms"], dtype=np.float64), 1.0) * 3600.0
        speed = pd.Series(kmh).groupby(np.asarray(drive["way_id"])).max()
    way_kmh = frame.way_id.map(speed)
    frame["kind"] = np.where(way_kmh.isna(), "path", np.where(way_kmh >= MAJOR_KMH, "major", "street"))
    lon, lat = np.asarray(walk["lon"], dtype=np.float64), np.asarray(walk["lat"], dtype=np.float64)
    a, b = frame.lo.to_numpy(), frame.hi.to_numpy()
    # Lines merge per name, kind and square of `MERGE_CELL_DEG` (a country's unnamed paths are one
    # name: merged whole, GEOS's line graph of them took 4 GB); a line crossing a square's side
    # is two lines meeting there, as it is two pieces in the tiles anyway.
    frame["cell"] = (np.floor(lon[a] / MERGE_CELL_DEG).astype(np.int64) * 100_000
                     + np.floor(lat[a] / MERGE_CELL_DEG).astype(np.int64))
    groups = frame.groupby(["name_id", "kind", "cell"], sort=True).ngroup().to_numpy()
    order = np.argsort(groups, kind="stable")
    # One multi-line per group straight from the coordinates: no Python object per segment
    # (5 M of them at country size held 1.5 GB).
    a, b = a[order], b[order]
    coords = np.empty((2 * len(a), 2))
    coords[0::2, 0], coords[0::2, 1], coords[1::2, 0], coords[1::2, 1] = lon[a], lat[a], lon[b], lat[b]
    line_offsets = np.arange(0, 2 * len(a) + 1, 2, dtype=np.int64)
    part_offsets = np.searchsorted(groups[order], np.arange(groups.max() + 2)).astype(np.int64)
    merged = shapely.line_merge(shapely.from_ragged_array(shapely.GeometryType.MULTILINESTRING, coords,
                                                          (line_offsets, part_offsets)))
    firsts = frame.iloc[order].groupby(groups[order], sort=True).first()
    parts, index = shapely.get_parts(merged, return_index=True)
    name_of = np.asarray(["" if i <= 0 or i >= len(names) else names[i] for i in firsts.name_id.to_numpy()],
                         dtype=object)
    return pd.DataFrame({"geometry": parts, "name": name_of[index], "kind": firsts.kind.to_numpy()[index]})


def _to_mercator(geoms: np.ndarray) -> np.ndarray:
    return shapely.transform(geoms, mercator) if len(geoms) else geoms


def _layer_tiles(geoms: np.ndarray, z: int) -> Iterator[tuple[int, int, np.ndarray]]:
    """(x, y, indices of ``geoms`` touching the tile) for every tile at ``z`` that holds any."""
    if not len(geoms):
        return
    tree = shapely.STRtree(geoms)
    span = _WORLD / (1 << z)
    x0, y0, x1, y1 = shapely.total_bounds(geoms)
    n = 1 << z
    cols = range(max(0, math.floor((x0 + _WORLD / 2) / span)), min(n - 1, math.floor((x1 + _WORLD / 2) / span)) + 1)
    rows = range(max(0, math.floor((_WORLD / 2 - y1) / span)), min(n - 1, math.floor((_WORLD / 2 - y0) / span)) + 1)
    boxes = [(x, y) for x in cols for y in rows]
    if not boxes:
        return
    pad = span * BUFFER / EXTENT
    rects = shapely.box(*np.array([tile_bounds(z, x, y) for x, y in boxes]).T)
    left, right = tree.query(shapely.buffer(rects, pad, cap_style="square", join_style="mitre"),
                             predicate="intersects")
    order = np.argsort(left, kind="stable")
    left, right = left[order], right[order]
    tiles, first = np.unique(left, return_index=True)
    for k, hits in zip(tiles.tolist(), np.split(right, first[1:])):
        x, y = boxes[k]
        yield x, y, hits


def _clip(geoms: np.ndarray, z: int, x: int, y: int) -> tuple[np.ndarray, np.ndarray]:
    """The geometries cut to the tile (with its buffer); (kept geometries, their positions)."""
    minx, miny, maxx, maxy = tile_bounds(z, x, y)
    pad = (maxx - minx) * BUFFER / EXTENT
    cut = shapely.clip_by_rect(geoms, minx - pad, miny - pad, maxx + pad, maxy + pad)
    keep = ~shapely.is_empty(cut)
    return cut[keep], np.flatnonzero(keep)


def _zoom_layers(roads: pd.DataFrame, road_geoms: np.ndarray, polygons: np.ndarray, labels: np.ndarray,
                 precincts: pd.DataFrame, z: int) -> dict[tuple[int, int], list[bytes]]:
    """Every tile of zoom ``z``: its encoded layers (`geo_service.ingest.mvt.encode_layers`, one call
    per layer for all the zoom's tiles). The roads drawn at ``z`` are simplified in ``road_geoms`` (call
    the zooms from the deepest up)."""
    unit = _WORLD / (1 << z) / EXTENT
    tiles: dict[tuple[int, int], list[bytes]] = {}

    def add(name: str, geoms: np.ndarray, kind: int, props: dict[str, np.ndarray], *, clip: bool = True) -> None:
        cuts: list[np.ndarray] = []
        sources: list[np.ndarray] = []
        numbers: list[np.ndarray] = []
        where: list[tuple[int, int, float, float]] = []
        held = 0

        def flush() -> None:
            if not where:
                return
            source = np.concatenate(sources)
            layers = encode_layers(name, np.concatenate(cuts), kind, np.concatenate(numbers),
                                   np.array([w[2:] for w in where]), {k: v[source] for k, v in props.items()},
                                   scale=1 / unit, extent=EXTENT)
            for number, layer in layers.items():
                tiles.setdefault(where[number][:2], []).append(layer)
            cuts.clear()
            sources.clear()
            numbers.clear()
            where.clear()

        for x, y, hits in _layer_tiles(geoms, z):
            bounds = tile_bounds(z, x, y)
            if clip:
                cut, pos = _clip(geoms[hits], z, x, y)
            else:  # points: each in the one tile that holds it
                px, py = shapely.get_x(geoms[hits]), shapely.get_y(geoms[hits])
                pos = np.flatnonzero((px >= bounds[0]) & (px < bounds[2]) & (py >= bounds[1]) & (py < bounds[3]))
                cut = geoms[hits[pos]]
            if len(cut):
                cuts.append(cut)
                sources.append(hits[pos])
                numbers.append(np.full(len(cut), len(where)))
                where.append((x, y, bounds[0], bounds[3]))
                held += len(cut)
                if held >= ENCODE_BATCH:  # the clipped pieces of a country's zoom 14 would be all its roads again
                    flush()
                    held = 0
        flush()

    shown = np.flatnonzero([KIND_MIN_ZOOM[k] <= z for k in roads.kind.to_numpy()]) if len(roads) else np.zeros(0, int)
    # Lines need no topology kept (plain Douglas-Peucker, several times faster); polygons do. The zooms
    # come from the deepest up and each simplifies the one below's lines in place (fewer points each time).
    simple = shapely.simplify(road_geoms[shown], unit, preserve_topology=False) if len(shown) else road_geoms[:0]
    road_geoms[shown] = simple
    drawn = ~shapely.is_empty(simple)
    simple, shown = simple[drawn], shown[drawn]
    add("roads", simple, LINE, {"name": roads.name.to_numpy()[shown], "kind": roads.kind.to_numpy()[shown]})
    props = {"id": precincts.precinct_id.astype(str).to_numpy(), "name": precincts.name.astype(str).to_numpy(),
             "source": (precincts.source.astype(str).to_numpy() if "source" in precincts
                        else np.full(len(precincts), "derived", dtype=object))}
    simple_poly = shapely.make_valid(shapely.simplify(polygons, unit)) if len(polygons) else polygons
    add("precincts", simple_poly, POLYGON, props)
    add("labels", labels, POINT, props, clip=False)
    return tiles


def write_tiles(path: Path, graph_arrays: Mapping[str, tuple[Mapping[str, np.ndarray], list[str], Any]],
                precincts: pd.DataFrame, *, min_zoom: int = MIN_ZOOM, max_zoom: int = MAX_ZOOM) -> dict[str, Any]:
    """Write the base map's PMTiles archive to ``path``; return its facts (also in its metadata).

    Parameters
    ----------
    path
        The archive to write (``<bundle>/tiles.pmtiles``).
    graph_arrays
        Per mode (``walk``, ``drive``): the graph arrays, street names and statistics of
        `geo_service.ingest.roads.build_graph`.
    precincts
        ``precinct_id``, ``name`` and ``geometry`` (shapely polygons in lon/lat).
    min_zoom, max_zoom
        The zooms written.
    """
    t0 = time.perf_counter()
    roads = road_features(graph_arrays)
    lonlat = np.concatenate([roads.geometry.to_numpy(), np.asarray(precincts.geometry.to_numpy(), dtype=object)])
    bounds = shapely.total_bounds(lonlat).tolist() if len(lonlat) else [0.0, 0.0, 0.0, 0.0]
    del lonlat
    road_geoms = _to_mercator(roads.geometry.to_numpy())
    roads = roads.drop(columns="geometry")  # the lon/lat lines go: only the Mercator ones are drawn
    polys = _to_mercator(np.asarray(precincts.geometry.to_numpy(), dtype=object)) if len(precincts) else \
        np.zeros(0, dtype=object)
    labels = shapely.point_on_surface(polys) if len(polys) else polys
    counts: dict[str, int] = {}
    total = 0
    with open(path, "wb") as f:
        writer = Writer(f)
        entries: list[tuple[int, bytes]] = []
        simplified = road_geoms.copy()
        for z in range(max_zoom, min_zoom - 1, -1):
            tiles = _zoom_layers(roads, simplified, polys, labels, precincts, z)
            for (x, y), layers in tiles.items():
                data = encode_tile(layers)
                entries.append((zxy_to_tileid(z, x, y), gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)))
            counts[str(z)] = len(tiles)
        counts = {str(z): counts[str(z)] for z in range(min_zoom, max_zoom + 1)}
        for tile_id, data in sorted(entries):
            writer.write_tile(tile_id, data)
            total += len(data)
        centre = ((bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2)
        facts: dict[str, Any] = {"layers": ["roads", "precincts", "labels"], "bounds": [round(v, 6) for v in bounds],
                 "min_zoom": min_zoom, "max_zoom": max_zoom, "tiles": counts, "bytes": total,
                 "roads": len(roads), "seconds": round(time.perf_counter() - t0, 2)}
        writer.finalize({
            "tile_type": TileType.MVT, "tile_compression": Compression.GZIP,
            "min_zoom": min_zoom, "max_zoom": max_zoom,
            "min_lon_e7": int(bounds[0] * 1e7), "min_lat_e7": int(bounds[1] * 1e7),
            "max_lon_e7": int(bounds[2] * 1e7), "max_lat_e7": int(bounds[3] * 1e7),
            "center_zoom": max(min_zoom, min(max_zoom, 12)),
            "center_lon_e7": int(centre[0] * 1e7), "center_lat_e7": int(centre[1] * 1e7),
        }, {"name": "geo-service base map", "format": "pbf", "attribution": "© OpenStreetMap contributors",
            "vector_layers": [{"id": "roads", "fields": {"name": "String", "kind": "String"}},
                              *({"id": n, "fields": {"id": "String", "name": "String", "source": "String"}}
                                for n in ("precincts", "labels"))],
            "geo_service": json.loads(json.dumps(facts))})
    return facts
