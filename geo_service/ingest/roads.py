"""Build-time road rules: which OSM ways are walkable or drivable, speeds (Kazakh codes),
and the graph arrays built from them (served by :class:`geo_service.network.graph.RoadGraph`)."""

from __future__ import annotations

import logging
import re

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from geo_service.ingest.node_order import compute_order
from geo_service.ingest.osm import HighwayWays
from geo_service.network.geodesy import haversine_m
from geo_service.network.graph import WALK_SPEED_KPH, Mode

logger = logging.getLogger(__name__)

#: Free-flow driving speeds in km/h by highway class, after Kazakhstan's traffic rules
#: (60 km/h in settlements, 90 outside, 110 on motorways) lowered for city streets.
KZ_HWY_SPEEDS: dict[str, float] = {
    "motorway": 110, "motorway_link": 60, "trunk": 90, "trunk_link": 50,
    "primary": 60, "primary_link": 40, "secondary": 50, "secondary_link": 35,
    "tertiary": 40, "tertiary_link": 30, "unclassified": 30, "residential": 30,
    "living_street": 20, "service": 15, "road": 30, "track": 15,
}

#: ``maxspeed`` codes (``KZ:*`` and neighbours) that osmnx does not know.
MAXSPEED_CODES: dict[str, float] = {
    "kz:urban": 60, "kz:rural": 90, "kz:motorway": 110, "kz:living_street": 20,
    "ru:urban": 60, "ru:rural": 90, "ru:motorway": 110, "ru:living_street": 20,
    "walk": 5, "living_street": 20,
}

#: Walking on steps is slower than on flat ground.
WALK_FACTORS = {"steps": 0.5}

WALK_HIGHWAYS = frozenset({
    "trunk", "trunk_link", "primary", "primary_link", "secondary", "secondary_link", "tertiary",
    "tertiary_link", "unclassified", "residential", "living_street", "service", "road", "track",
    "pedestrian", "footway", "path", "steps", "cycleway", "bridleway", "corridor", "crossing",
    "sidewalk",
})

DRIVE_HIGHWAYS = frozenset(KZ_HWY_SPEEDS)

NO_ACCESS = frozenset({"no", "private", "military"})


def parse_maxspeed(value: str | None) -> float | None:
    """Return a ``maxspeed`` tag in km/h, or None when it cannot be read."""
    if not value:
        return None
    value = value.strip().lower().split(";")[0]
    if value in MAXSPEED_CODES:
        return MAXSPEED_CODES[value]
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph)?", value)
    if not m:
        return None
    speed = float(m.group(1))
    if m.group(2) == "mph":
        speed *= 1.609344
    return speed if 3 <= speed <= 150 else None


def usable(tags: dict[str, str], mode: Mode) -> bool:
    """Whether a way with these tags belongs in the ``mode`` graph (highway class and access tags)."""
    highway = tags.get("highway", "")
    if tags.get("area") == "yes":
        return False
    if mode == "walk":
        if highway not in WALK_HIGHWAYS:
            return False
        if tags.get("foot") in NO_ACCESS:
            return False
        return not (tags.get("access") in NO_ACCESS and tags.get("foot") not in ("yes", "designated"))
    if highway not in DRIVE_HIGHWAYS:
        return False
    for key in ("motor_vehicle", "motorcar", "vehicle"):
        value = tags.get(key)
        if value is not None:
            return value not in NO_ACCESS
    return tags.get("access") not in NO_ACCESS


def oneway_direction(tags: dict[str, str]) -> int:
    """+1 forward only, -1 backward only, 0 both ways (driving)."""
    oneway = tags.get("oneway", "").lower()
    if oneway in ("yes", "true", "1"):
        return 1
    if oneway in ("-1", "reverse"):
        return -1
    if oneway in ("no", "false", "0"):
        return 0
    if tags.get("junction") in ("roundabout", "circular") or tags.get("highway") == "motorway":
        return 1
    return 0


def build_graph(ways: HighwayWays, mode: Mode, *, walk_speed_kph: float = WALK_SPEED_KPH,
                with_order: bool = True
                ) -> tuple[dict[str, np.ndarray], list[str], dict[str, int]]:
    """Build the arrays of one graph from highway ways.

    Parameters
    ----------
    with_order
        Compute the CCH node order here (``order`` in the arrays). False leaves it out, for a
        caller that orders the graph beside other work (`geo_service.ingest.node_order`) or
        does not need it.

    Returns
    -------
    arrays
        ``node_osm, lat, lon, tail, head, time_ms, length_m, name_id, way_id, order``;
        edges sorted by tail (CSR order).
    names
        Street names indexed by ``name_id`` (index 0 is the empty name).
    stats
        Counts for the build report.
    """
    names, used_ways, tails, heads, speeds, name_ids, way_ids = _way_edges(ways, mode, walk_speed_kph)
    if not tails:
        empty: dict[str, np.ndarray] = {k: np.zeros(0, dtype=np.int64) for k in ("node_osm", "tail", "head", "order")}
        empty.update({k: np.zeros(0) for k in ("lat", "lon", "time_ms", "length_m", "name_id", "way_id")})
        return empty, names, {"ways": 0, "nodes": 0, "edges": 0, "pieces_dropped": 0,
                              "nodes_dropped": 0}
    tail_pos = np.concatenate(tails)
    head_pos = np.concatenate(heads)
    speed = np.concatenate(speeds)
    name_id = np.concatenate(name_ids)
    way_id = np.concatenate(way_ids)
    # Positions in the flat way arrays -> OSM node ids -> dense node numbers.
    osm_t = ways.refs[tail_pos]
    osm_h = ways.refs[head_pos]
    node_osm, inverse = np.unique(np.concatenate([osm_t, osm_h]), return_inverse=True)
    tail = inverse[: len(osm_t)]
    head = inverse[len(osm_t):]
    lon = np.empty(len(node_osm))
    lat = np.empty(len(node_osm))
    lon[tail] = ways.lon[tail_pos]
    lat[tail] = ways.lat[tail_pos]
    lon[head] = ways.lon[head_pos]
    lat[head] = ways.lat[head_pos]
    length = haversine_m(lon[tail], lat[tail], lon[head], lat[head])
    time_ms = np.maximum(np.rint(length / (speed / 3.6) * 1000.0), 1).astype(np.int64)
    # Drop self-loops and keep the fastest of parallel edges.
    keep = tail != head
    tail, head, time_ms, length, name_id, way_id = (a[keep] for a in (tail, head, time_ms, length, name_id, way_id))
    order = np.lexsort((time_ms, head, tail))
    tail, head, time_ms, length, name_id, way_id = (a[order] for a in (tail, head, time_ms, length, name_id, way_id))
    first = np.ones(len(tail), dtype=bool)
    first[1:] = (tail[1:] != tail[:-1]) | (head[1:] != head[:-1])
    tail, head, time_ms, length, name_id, way_id = (a[first] for a in (tail, head, time_ms, length, name_id, way_id))
    n = len(node_osm)
    n_comp, keep_node, new_id = _largest_piece(mode, n, tail, head)
    keep_edge = keep_node[tail] & keep_node[head]
    tail, head = new_id[tail[keep_edge]], new_id[head[keep_edge]]
    time_ms, length, name_id, way_id = (a[keep_edge] for a in (time_ms, length, name_id, way_id))
    node_osm, lat, lon = node_osm[keep_node], lat[keep_node], lon[keep_node]
    arrays = {
        "node_osm": node_osm, "lat": lat, "lon": lon,
        "tail": tail.astype(np.int32), "head": head.astype(np.int32),
        "time_ms": time_ms.astype(np.int32), "length_m": length.astype(np.float32),
        "name_id": name_id.astype(np.int32), "way_id": way_id,
    }
    if with_order:
        arrays["order"] = compute_order(len(node_osm), tail, head, lat, lon)
    stats = {"ways": used_ways, "nodes": len(node_osm), "edges": len(tail),
             "pieces_dropped": int(n_comp - 1), "nodes_dropped": int(n - len(node_osm))}
    logger.info("%s graph: %d nodes, %d edges from %d ways; %d disconnected pieces (%d nodes) dropped",
                mode, stats["nodes"], stats["edges"], used_ways, stats["pieces_dropped"],
                stats["nodes_dropped"])
    return arrays, names, stats


def _way_edges(ways: HighwayWays, mode: Mode, walk_speed_kph: float) -> tuple[
        list[str], int, list[np.ndarray], list[np.ndarray], list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """The usable ways' edges: (names, ways used, [tails], [heads], [speeds], [name ids], [way ids]);
    tails and heads are positions in the flat way arrays, in way order (each way's forward
    segments, then its backward ones).

    The tags are read in a loop (one speed, direction and name per way); the segments are
    made with numpy over all ways at once: one small array per way and direction held
    900 MB of Python objects at country size."""
    n_ways = len(ways.tags)
    if n_ways == 0:
        return [""], 0, [], [], [], [], []
    offsets = np.asarray(ways.offsets, dtype=np.int64)
    ok_way = np.zeros(n_ways, dtype=bool)
    speed_w = np.zeros(n_ways)
    dir_w = np.zeros(n_ways, dtype=np.int8)
    for i, tags in enumerate(ways.tags):
        if not usable(tags, mode):
            continue
        ok_way[i] = True
        highway = tags.get("highway", "")
        if mode == "walk":
            speed_w[i] = walk_speed_kph * WALK_FACTORS.get(highway, 1.0)
        else:
            speed_w[i] = parse_maxspeed(tags.get("maxspeed")) or KZ_HWY_SPEEDS.get(highway, 30.0)
            dir_w[i] = oneway_direction(tags)
    # A segment joins positions p and p + 1 of one way, both with a location.
    way_of = np.repeat(np.arange(n_ways), np.diff(offsets))
    finite = np.isfinite(np.asarray(ways.lon))
    p = np.flatnonzero((way_of[:-1] == way_of[1:]) & finite[:-1] & finite[1:] & ok_way[way_of[:-1]])
    w = way_of[p]
    used = np.bincount(w, minlength=n_ways) > 0
    names: list[str] = [""]
    name_index: dict[str, int] = {"": 0}
    nid_w = np.zeros(n_ways, dtype=np.int32)
    for i in np.flatnonzero(used).tolist():  # names numbered in way order, as they are first used
        name = ways.tags[i].get("name", "")
        nid = name_index.get(name)
        if nid is None:
            nid = name_index[name] = len(names)
            names.append(name)
        nid_w[i] = nid
    d = dir_w[w]
    fwd, bwd = d >= 0, d <= 0
    tail = np.concatenate([p[fwd], p[bwd] + 1])
    head = np.concatenate([p[fwd] + 1, p[bwd]])
    way = np.concatenate([w[fwd], w[bwd]])
    order = np.lexsort((np.concatenate([p[fwd], p[bwd]]), np.concatenate([np.zeros(int(fwd.sum()), np.int8),
                                                                          np.ones(int(bwd.sum()), np.int8)]), way))
    tail, head, way = tail[order], head[order], way[order]
    return (names, int(used.sum()), [tail], [head], [speed_w[way]], [nid_w[way]],
            [np.asarray(ways.way_ids, dtype=np.int64)[way]])


def _largest_piece(mode: Mode, n: int, tail: np.ndarray, head: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """(number of pieces, mask of the nodes of the largest connected piece, their new numbers)."""
    # Keep the largest connected piece (strongly connected when driving: one-way streets
    # can trap a car).
    adj = sp.csr_matrix((np.ones(len(tail)), (tail, head)), shape=(n, n))
    n_comp, labels = connected_components(adj, directed=True,
                                          connection="strong" if mode == "drive" else "weak")
    biggest = np.bincount(labels).argmax()
    keep_node = labels == biggest
    new_id = np.full(n, -1, dtype=np.int64)
    new_id[keep_node] = np.arange(int(keep_node.sum()))
    return n_comp, keep_node, new_id
