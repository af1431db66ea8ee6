"""The data a page's layers carry: roads, precincts and posts cut to what the page shows,
the colours that tell neighbouring precincts apart, and small geometry helpers.

Privacy: folium embeds every property of the GeoJSON it is given, shown or not, so
each layer gets only the properties the page shows (see `precinct_layer_data`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import numpy as np
import shapely

#: Twelve colours told apart on a map (Tableau 10 and two more), for neighbouring precincts.
PALETTE: Final[tuple[str, ...]] = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948",
    "#b07aa1", "#ff9da7", "#9c755f", "#79706e", "#17becf", "#bcbd22",
)
#: Above this many road segments only named roads are drawn (keeps big cities' pages small).
MAX_ROAD_SEGMENTS: Final[int] = 60_000


def roads_geojson(graph: Any, *, decimals: int = 5, max_segments: int = MAX_ROAD_SEGMENTS) -> dict[str, Any]:
    """The road network as one light GeoJSON Feature (a MultiLineString), for the base layer.

    Each street segment is drawn once (both directions of a two-way street are one
    line), segments are joined into longer lines, simplified within ``10**-decimals``
    degrees (about 1 m for 5 decimals) and rounded to that precision. When the city
    has more than ``max_segments`` segments only named roads are drawn.

    Parameters
    ----------
    graph : RoadGraph
        Usually ``city.walk``: it has every street and footway.
    decimals
        Coordinate decimals kept.
    max_segments
        Segment count above which unnamed roads are left out.
    """
    tail, head = np.asarray(graph.tail), np.asarray(graph.head)
    lo, hi = np.minimum(tail, head), np.maximum(tail, head)
    keep = lo != hi
    if int(keep.sum()) // 2 > max_segments:
        keep &= np.asarray(graph.name_id) > 0
    pairs = np.unique(np.stack([lo[keep], hi[keep]], axis=1), axis=0)
    if len(pairs) == 0:
        return {"type": "Feature", "properties": {}, "geometry": {"type": "MultiLineString", "coordinates": []}}
    lon, lat = np.asarray(graph.lon, dtype=np.float64), np.asarray(graph.lat, dtype=np.float64)
    coords = np.stack([np.stack([lon[pairs[:, 0]], lat[pairs[:, 0]]], axis=1),
                       np.stack([lon[pairs[:, 1]], lat[pairs[:, 1]]], axis=1)], axis=1)
    merged = shapely.line_merge(shapely.multilinestrings(shapely.linestrings(coords)))
    grid = 10.0 ** -decimals
    merged = shapely.set_precision(shapely.simplify(merged, grid), grid)
    parts = shapely.get_parts(merged)
    lines = [np.round(shapely.get_coordinates(p), decimals).tolist() for p in parts if not p.is_empty]
    return {"type": "Feature", "properties": {},
            "geometry": {"type": "MultiLineString", "coordinates": [ln for ln in lines if len(ln) >= 2]}}


def precinct_colours(geometries: Sequence[Any], *, near_deg: float = 3e-4) -> list[str]:
    """One `PALETTE` colour per precinct; neighbours told apart.

    Up to twelve precincts each get their own colour. With more, colours are given
    greedily in input order so that precincts closer than ``near_deg`` degrees
    (about 30 m: derived precincts may leave slivers between them) differ; this
    holds whenever a precinct has fewer than twelve such neighbours.
    """
    n = len(geometries)
    if n <= len(PALETTE):
        return list(PALETTE[:n])
    geoms = np.asarray(geometries, dtype=object)
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="dwithin", distance=near_deg)
    neighbours: dict[int, set[int]] = {}
    for a, b in zip(left.tolist(), right.tolist()):
        if a != b:
            neighbours.setdefault(a, set()).add(b)
    colour: list[int] = []
    for i in range(n):
        taken = {colour[j] for j in neighbours.get(i, ()) if j < i}
        free = [c for c in range(len(PALETTE)) if c not in taken]
        colour.append(free[0] if free else i % len(PALETTE))
    return [PALETTE[c] for c in colour]


def precinct_layer_data(collection: Mapping[str, Any], *, decimals: int = 5) -> dict[str, Any]:
    """The precinct FeatureCollection cut to what the page shows.

    Kept per precinct: ``id``, ``name``, ``source``; per inspector ``name``, ``rank``,
    ``phone``, ``reception_hours`` (the inspector card); the post's ``name`` and
    ``address``. Inspector ids, the post's id and coordinates (the post is its own
    marker layer) and anything else are dropped. Boundaries are drawn to
    ``10**-decimals`` degrees (about 1 m for 5), which keeps the page small.
    """
    grid = 10.0 ** -decimals
    features = []
    for f in collection["features"]:
        p = f["properties"]
        post = p.get("post")
        geometry = shapely.geometry.mapping(shapely.set_precision(shapely.geometry.shape(f["geometry"]), grid))
        features.append({
            "type": "Feature", "id": str(f.get("id", p["id"])), "geometry": geometry,
            "properties": {
                "id": str(p["id"]), "name": str(p["name"]), "source": str(p["source"]),
                "inspectors": [{k: str(i.get(k) or "") for k in ("name", "rank", "phone", "reception_hours")}
                               for i in p.get("inspectors") or []],
                "post": ({"name": str(post.get("name") or ""), "address": str(post.get("address") or "")}
                         if post else None),
            },
        })
    return {"type": "FeatureCollection", "features": features}


def post_layer_data(collection: Mapping[str, Any]) -> dict[str, Any]:
    """Post markers: a point, the post name and its precinct id (to open the card)."""
    features = []
    for f in collection["features"]:
        post = f["properties"].get("post")
        if post and post.get("lat") is not None and post.get("lon") is not None:
            features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [
                round(float(post["lon"]), 6), round(float(post["lat"]), 6)]},
                "properties": {"name": str(post.get("name") or ""), "precinct": str(f["properties"]["id"])}})
    return {"type": "FeatureCollection", "features": features}


class RoadIndex:
    """The road layer's lines with a spatial index, to draw only the roads near a route.

    Built once per city from `roads_geojson` (the pages blueprint caches it).
    """

    def __init__(self, roads: Mapping[str, Any]) -> None:
        self.lines: list[Any] = list(roads["geometry"]["coordinates"])
        self.tree = shapely.STRtree([shapely.linestrings(ln) for ln in self.lines])

    def within(self, bbox: Sequence[float]) -> dict[str, Any]:
        """The roads crossing ``bbox`` [minlon, minlat, maxlon, maxlat] as one Feature."""
        hits = np.sort(self.tree.query(shapely.box(*bbox)))
        return {"type": "Feature", "properties": {},
                "geometry": {"type": "MultiLineString", "coordinates": [self.lines[i] for i in hits.tolist()]}}


def core_bounds(lon: Any, lat: Any, *, share: float = 0.94) -> list[float] | None:
    """[minlon, minlat, maxlon, maxlat] of the built-up core: the central ``share`` of the
    points (addresses) along each axis, so a few far-off objects of the extract do not
    widen the view. None without points."""
    x, y = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return None
    q = [(1 - share) / 2, 1 - (1 - share) / 2]
    (x0, x1), (y0, y1) = np.quantile(x[ok], q), np.quantile(y[ok], q)
    return [float(x0), float(y0), float(x1), float(y1)]


def bbox_of(points: Iterable[Sequence[float]], *, margin_deg: float) -> list[float]:
    """[minlon, minlat, maxlon, maxlat] of (lon, lat) points, widened by ``margin_deg``."""
    xy = np.asarray(list(points), dtype=np.float64).reshape(-1, 2)
    x0, y0 = xy.min(axis=0) - margin_deg
    x1, y1 = xy.max(axis=0) + margin_deg
    return [float(x0), float(y0), float(x1), float(y1)]


def light_geometry(geometry: Mapping[str, Any], *, tolerance: float = 2e-5, decimals: int = 5) -> dict[str, Any]:
    """A GeoJSON geometry simplified within ``tolerance`` degrees and rounded (keeps pages small)."""
    grid = 10.0 ** -decimals
    geom = shapely.set_precision(shapely.simplify(shapely.geometry.shape(geometry), tolerance), grid)
    return shapely.geometry.mapping(geom)


def number_or_none(value: Any, decimals: int) -> float | int | None:
    """``value`` rounded to ``decimals`` (a whole number for 0), or None when it is missing or not finite."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    if not np.isfinite(x):
        return None
    return round(x) if decimals == 0 else round(x, decimals)
