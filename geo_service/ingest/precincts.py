"""Precinct polygons: reading and validating a department's file, or deriving them.

Official precincts come from a GeoJSON, GeoPackage or Shapefile. Derived precincts
are built when there is none: every road node, address and building goes to the
post nearest by walking time over the road network (one multi-source Dijkstra), and
the precinct is the union of the Voronoi cells of the points it received, cut to the
built-up area. Derived precincts are labelled ``derived``, never ``official``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from scipy.sparse.csgraph import dijkstra

from geo_service.errors import InputFileError
from geo_service.ingest.problems import ProblemReport
from geo_service.ingest.voronoi import labelled_regions
from geo_service.network.geodesy import from_utm, to_utm
from geo_service.network.graph import RoadGraph

logger = logging.getLogger(__name__)

ID_COLUMNS = ("precinct_id", "precinct_i", "id", "precinct", "uchastok", "участок")
NAME_COLUMNS = ("name", "precinct_name", "название", "атауы")
#: Overlaps smaller than this (m²) are digitising noise, not a problem.
OVERLAP_TOLERANCE_M2 = 1.0


def read_precincts(path: Path, *, crs: str | None, report: ProblemReport) -> pd.DataFrame:
    """Read a precinct file into ``precinct_id, name, geometry`` (EPSG:4326).

    Parameters
    ----------
    path
        GeoJSON, GeoPackage or Shapefile.
    crs
        The CRS to assume when the file has none (``--precincts-crs``).
    report
        Problems found are added here.
    """
    import geopandas as gpd  # noqa: PLC0415 - loaded only to read a precinct file (start-up time)

    path = Path(path)
    name = path.name
    if not path.exists():
        msg = f"{path}: no such file; fix: check the path of the precinct file"
        raise InputFileError(msg)
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several types for unreadable files
        msg = f"{path}: cannot read the precinct file ({exc}); fix: give a GeoJSON, GeoPackage or Shapefile"
        raise InputFileError(msg) from exc
    empty = pd.DataFrame({"precinct_id": pd.Series(dtype=str), "name": pd.Series(dtype=str),
                          "geometry": pd.Series(dtype=object)})
    if len(gdf) == 0:
        report.error(name, "layer", "no precincts in the file", "give a layer with one polygon per precinct")
        return empty
    if gdf.crs is None:
        if crs is None:
            report.error(name, "layer", "the file has no CRS (a Shapefile without .prj?)",
                         "add the .prj file, or pass --precincts-crs EPSG:xxxx")
            return empty
        gdf = gdf.set_crs(crs)
    cols = {c.lower(): c for c in gdf.columns}
    id_col = next((cols[c] for c in ID_COLUMNS if c in cols), None)
    if id_col is None:
        report.error(name, "layer", "no precinct id column",
                     f"add a column named precinct_id (found: {', '.join(map(str, gdf.columns))})")
        return empty
    name_col = next((cols[c] for c in NAME_COLUMNS if c in cols), None)
    gdf = gdf.to_crs(4326)
    ids = gdf[id_col].astype(str).str.strip()
    names = gdf[name_col].astype(str) if name_col else ids
    frame = pd.DataFrame({"precinct_id": ids.to_numpy(), "name": names.to_numpy(),
                          "geometry": gdf.geometry.to_numpy()})
    for value in frame.precinct_id[frame.precinct_id.duplicated()].unique():
        report.error(name, f"precinct {value}", "the id appears on more than one feature",
                     "give each precinct one feature (merge the parts into a MultiPolygon)")
    return frame


def validate_precincts(frame: pd.DataFrame, *, file: str, crs: CRS,
                       extent: tuple[float, float, float, float], built: np.ndarray,
                       report: ProblemReport) -> pd.DataFrame:
    """Check precinct geometry; return the frame with geometries kept as they are.

    Checks: empty or non-polygon features, invalid or self-intersecting rings, the
    layer lying outside the OSM extract (wrong CRS or swapped axes), overlaps between
    precincts, and gaps (addresses and buildings of the built-up area, ``built``
    given as an (n, 2) lon/lat array, that fall in no precinct).
    """
    geoms = np.asarray(frame.geometry.to_numpy(), dtype=object)
    ok = np.ones(len(frame), dtype=bool)
    for i, (pid, geom) in enumerate(zip(frame.precinct_id, geoms)):
        rec = f"feature {i + 1} (precinct {pid})"
        if geom is None or shapely.is_empty(geom):
            report.error(file, rec, "empty geometry", "draw the precinct polygon or remove the feature")
            ok[i] = False
        elif geom.geom_type not in ("Polygon", "MultiPolygon"):
            report.error(file, rec, f"geometry is a {geom.geom_type}, not a polygon",
                         "give precincts as polygons")
            ok[i] = False
        elif not geom.is_valid:
            reason = shapely.is_valid_reason(geom)
            report.error(file, rec, f"invalid polygon: {reason}",
                         "repair it (QGIS: Vector > Geometry Tools > Fix Geometries)")
            ok[i] = False
    if not ok.any():
        return frame
    valid = geoms[ok]
    minlon, minlat, maxlon, maxlat = extent
    box = shapely.box(minlon, minlat, maxlon, maxlat)
    if not shapely.intersects(valid, box).any():
        b = shapely.total_bounds(valid)
        swapped = shapely.box(b[1], b[0], b[3], b[2])
        hint = ("the coordinates look like (lat, lon) swapped" if shapely.intersects(swapped, box)
                else "the CRS is probably wrong")
        report.error(file, "layer", f"no precinct lies inside the OSM extract ({hint})",
                     "check the layer's CRS (--precincts-crs) and that it is the same city")
        return frame
    projected = to_utm(valid, crs)
    ids = frame.precinct_id.to_numpy()[ok]
    tree = shapely.STRtree(projected)
    left, right = tree.query(projected, predicate="intersects")
    for a, b in zip(left, right):
        if a >= b:
            continue
        inter = shapely.intersection(projected[a], projected[b])
        area = float(shapely.area(inter))
        if area > OVERLAP_TOLERANCE_M2:
            c = from_utm(np.array([shapely.centroid(inter)]), crs)[0]
            report.error(file, f"precincts {ids[a]} and {ids[b]}",
                         f"overlap by {area:,.0f} m² near ({c.y:.5f}, {c.x:.5f})",
                         "move the shared border so each place belongs to one precinct")
    if len(built):
        union = shapely.union_all(valid)
        hull = shapely.convex_hull(union)
        shapely.prepare(union)
        shapely.prepare(hull)
        inside_hull = shapely.contains_xy(hull, built[:, 0], built[:, 1])
        covered = shapely.intersects_xy(union, built[:, 0], built[:, 1])
        gap = inside_hull & ~covered
        if gap.any():
            first = built[np.flatnonzero(gap)[0]]
            report.warning(file, "layer", f"{int(gap.sum())} addresses/buildings inside the precincts' "
                           f"area fall in no precinct (a gap), e.g. near ({first[1]:.5f}, {first[0]:.5f})",
                           "extend a neighbouring precinct over the gap")
    return frame


def derive_precincts(graph: RoadGraph, posts: pd.DataFrame, points: np.ndarray, *,
                     crs: CRS) -> tuple[pd.DataFrame, np.ndarray]:
    """Derive precincts from posts by walking time over the road network.

    Parameters
    ----------
    graph
        The walking graph.
    posts
        ``post_id, name, lat, lon, precinct_id`` (``precinct_id`` may be empty: then
        ``D01``, ``D02``, ... are given in post order).
    points
        (n, 2) lon/lat of addresses and building centroids that must fall inside.
    crs
        The projected CRS used for the geometry work.

    Returns
    -------
    precincts
        ``precinct_id, name, post_id, geometry`` (EPSG:4326), one row per post that got
        any territory.
    post_precinct
        The precinct id of every post (in ``posts`` order).
    """
    width = max(2, len(str(len(posts))))
    pids = np.array([p if p else f"D{i + 1:0{width}d}" for i, p in enumerate(posts.precinct_id)], dtype=object)
    post_nodes, snap_d = graph.snap_many(posts.lat.to_numpy(), posts.lon.to_numpy())
    for pid, d in zip(pids, snap_d):
        if d > 500:
            logger.warning("post of precinct %s is %.0f m from the nearest road", pid, d)
    # Posts sharing a node share the same territory: the first one keeps it.
    unique_nodes, first_post = np.unique(post_nodes, return_index=True)
    _, _, sources = dijkstra(graph.csr(), indices=unique_nodes, min_only=True, return_predecessors=True)
    post_of_node = np.full(graph.n_nodes, -1, dtype=np.int64)
    reached = sources >= 0
    node_owner = dict(zip(unique_nodes.tolist(), first_post.tolist()))
    post_of_node[reached] = [node_owner[s] for s in sources[reached].tolist()]
    pts_nodes, _ = graph.snap_many(points[:, 1], points[:, 0]) if len(points) else (np.zeros(0, dtype=np.int64), None)
    lon = np.concatenate([graph.lon, points[:, 0] if len(points) else []])
    lat = np.concatenate([graph.lat, points[:, 1] if len(points) else []])
    label = np.concatenate([post_of_node, post_of_node[pts_nodes]])
    keep = label >= 0
    lon, lat, label = lon[keep], lat[keep], label[keep]
    tr = Transformer.from_crs(4326, crs, always_xy=True)
    x, y = tr.transform(lon, lat)
    xy = np.round(np.column_stack([x, y]), 1)
    xy, idx = np.unique(xy, axis=0, return_index=True)
    label = label[idx]
    area = built_up_area(xy)
    regions = labelled_regions(xy, label, area)
    rows = [(pids[k], posts.name.iloc[k] or f"Derived precinct {pids[k]}", posts.post_id.iloc[k], regions[k])
            for k in sorted(regions)]
    geoms = from_utm(np.array([r[3] for r in rows], dtype=object), crs)
    geoms = shapely.make_valid(geoms)
    frame = pd.DataFrame({"precinct_id": [r[0] for r in rows], "name": [r[1] for r in rows],
                          "post_id": [r[2] for r in rows], "geometry": geoms})
    # Posts that share a road node with an earlier post share its precinct.
    shared = [i for i, n in enumerate(post_nodes.tolist()) if node_owner[n] != i]
    for i in shared:
        logger.warning("post %s stands at the same road node as post %s: they share precinct %s",
                       posts.post_id.iloc[i], posts.post_id.iloc[node_owner[int(post_nodes[i])]],
                       pids[node_owner[int(post_nodes[i])]])
    post_precinct = np.array([pids[node_owner[n]] for n in post_nodes.tolist()], dtype=object)
    logger.info("derived %d precincts from %d posts over %d points", len(frame), len(posts), len(xy))
    return frame, post_precinct


#: The built-up area's hull is drawn over one point per square of this side (m): its cost grows
#: faster than the points (n^1.5), and every point left out is within ``THIN_M * sqrt(2)`` of one
#: kept, well inside the hull's 300 m widening.
THIN_M = 100.0
BUILT_UP_MARGIN_M = 300.0
#: At most this many points go into the hull: a country's squares are widened until they fit
#: (1.5 times a step), and the widening grows with them so every point stays inside. Its Delaunay
#: triangulation over 2.4 M squares took 60 s and 3.3 GB at the 14 x 14 tiling.
HULL_POINTS = 200_000


def built_up_area(xy: np.ndarray, *, max_points: int = HULL_POINTS) -> shapely.Geometry:
    """The area the derived precincts cover: a concave hull of the points (one per `THIN_M`
    square, or wider squares past ``max_points``), widened `BUILT_UP_MARGIN_M` (or the wider
    square's diagonal), so it holds every point."""
    side = THIN_M
    while True:
        cells = np.floor(xy / side).astype(np.int64)
        key = (cells[:, 0] - cells[:, 0].min()) * (int(cells[:, 1].max() - cells[:, 1].min()) + 1) + \
            (cells[:, 1] - cells[:, 1].min()) if len(xy) else np.zeros(0, dtype=np.int64)
        _, first = np.unique(key, return_index=True)
        if len(first) <= max_points:
            break
        side *= 1.5
    hull = shapely.concave_hull(shapely.multipoints(xy[np.sort(first)]), ratio=0.05)
    return shapely.buffer(hull, max(BUILT_UP_MARGIN_M, float(np.ceil(side * np.sqrt(2)))))
