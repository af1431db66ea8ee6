"""The road graphs for the tools planners already use: networkx, osmnx's GraphML, GeoPackage.

`to_networkx` makes a served graph an osmnx-style ``networkx.MultiDiGraph``: nodes keyed by
their OpenStreetMap id with ``x`` (lon), ``y`` (lat) and ``osmid``; one edge per directed
arc with ``osmid`` (the way), ``name``, ``length`` (m), ``travel_time`` (s, the service's
own times: walking 4.8 km/h, driving by ``maxspeed`` or road class) and ``speed_kph``;
graph attributes ``crs`` (EPSG:4326) and ``simplified`` (False: every OSM node is kept).
`write_graph` saves it as GraphML (``osmnx.load_graphml`` reads it back with the types) or
as a GeoPackage with ``nodes`` and ``edges`` layers (``geopandas.read_file``, QGIS).

Only the ``export`` command imports this module (it loads networkx and geopandas).
A shortest path by ``travel_time`` in the export is the service's route between the same
road nodes (tests/network/test_export.py checks it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely

from geo_service.errors import InputError
from geo_service.network.graph import RoadGraph

__all__ = ["FORMATS", "to_networkx", "write_graph"]

FORMATS: Final[tuple[str, ...]] = ("graphml", "gpkg")


def to_networkx(graph: RoadGraph) -> nx.MultiDiGraph:
    """The graph as an osmnx-style ``networkx.MultiDiGraph`` (see the module docstring).

    Parameters
    ----------
    graph
        A served graph (``city.walk`` or ``city.drive``).

    Returns
    -------
    networkx.MultiDiGraph
        Node keys are OpenStreetMap node ids; edge keys count parallel arcs from 0.
    """
    g = nx.MultiDiGraph(crs="EPSG:4326", simplified=False, mode=graph.mode, created_by="geo-service")
    osm = np.asarray(graph.node_osm, dtype=np.int64)
    lon, lat = np.asarray(graph.lon, dtype=np.float64), np.asarray(graph.lat, dtype=np.float64)
    g.add_nodes_from((int(osm[i]), {"x": float(lon[i]), "y": float(lat[i]), "osmid": int(osm[i])})
                     for i in range(len(osm)))
    tail, head = np.asarray(graph.tail), np.asarray(graph.head)
    seconds = np.asarray(graph.time_ms, dtype=np.float64) / 1000.0
    metres = np.asarray(graph.length_m, dtype=np.float64)
    kph = np.where(seconds > 0, metres / np.maximum(seconds, 1e-9) * 3.6, 0.0)
    names, name_id, way = graph.names, np.asarray(graph.name_id), np.asarray(graph.way_id, dtype=np.int64)
    for k in range(len(tail)):
        n = int(name_id[k])
        g.add_edge(int(osm[tail[k]]), int(osm[head[k]]), osmid=int(way[k]),
                   name=names[n] if 0 < n < len(names) else "", length=round(float(metres[k]), 3),
                   travel_time=round(float(seconds[k]), 3), speed_kph=round(float(kph[k]), 2))
    return g


def write_graph(graph: RoadGraph, out: Path, *, fmt: str) -> dict[str, Any]:
    """Write ``graph`` to ``out`` as ``graphml`` or ``gpkg``; return what was written.

    Raises
    ------
    InputError
        An unknown format, or an output folder that does not exist.
    """
    if fmt not in FORMATS:
        msg = f"format must be one of {', '.join(FORMATS)}, not {fmt!r}"
        raise InputError(msg)
    if not out.parent.is_dir():
        msg = f"{out.parent}: no such folder for --out"
        raise InputError(msg)
    g = to_networkx(graph)
    if fmt == "graphml":
        nx.write_graphml(_as_text(g), out)
    else:
        _write_gpkg(g, out)
    return {"format": fmt, "path": str(out), "mode": graph.mode, "nodes": g.number_of_nodes(),
            "edges": g.number_of_edges(), "bytes": out.stat().st_size}


def _as_text(g: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """Every attribute as text, as ``osmnx.save_graphml`` writes them (``load_graphml`` converts
    ``x``, ``y``, ``osmid``, ``length``, ``travel_time``, ``speed_kph`` back to numbers)."""
    h = nx.MultiDiGraph(**{k: str(v) for k, v in g.graph.items()})
    h.add_nodes_from((n, {k: str(v) for k, v in d.items()}) for n, d in g.nodes(data=True))
    h.add_edges_from((u, v, k, {a: str(x) for a, x in d.items()}) for u, v, k, d in g.edges(keys=True, data=True))
    return h


def _write_gpkg(g: nx.MultiDiGraph, out: Path) -> None:
    """``nodes`` (points) and ``edges`` (straight lines between their nodes) layers, as osmnx lays them out."""
    nodes = list(g.nodes(data=True))
    xy = {n: (d["x"], d["y"]) for n, d in nodes}
    node_frame = gpd.GeoDataFrame(
        {"osmid": [n for n, _ in nodes], "x": [d["x"] for _, d in nodes], "y": [d["y"] for _, d in nodes]},
        geometry=shapely.points([xy[n] for n, _ in nodes]), crs="EPSG:4326")
    edges = list(g.edges(keys=True, data=True))
    lines = shapely.linestrings([[xy[u], xy[v]] for u, v, _, _ in edges]) if edges else []
    edge_frame = gpd.GeoDataFrame(
        {"u": [u for u, _, _, _ in edges], "v": [v for _, v, _, _ in edges], "key": [k for _, _, k, _ in edges],
         **{col: [d[col] for *_, d in edges] for col in ("osmid", "name", "length", "travel_time", "speed_kph")}},
        geometry=lines, crs="EPSG:4326")
    if out.exists():
        out.unlink()
    node_frame.to_file(out, layer="nodes", driver="GPKG")
    edge_frame.to_file(out, layer="edges", driver="GPKG", mode="a")
