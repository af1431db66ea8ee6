"""Walking and driving graphs: building them from OSM ways, storing them as compact
arrays, and answering snaps, routes and travel-time matrices fast.

Build side: `build_graph` turns highway ways into a directed edge list (one edge per
pair of consecutive OSM nodes, so the path geometry is the nodes themselves), with a
Kazakhstan speed table, keeps the largest connected piece and orders the nodes for a
customizable contraction hierarchy (RoutingKit's CCH through ``routingkit-cch``).

Serve side: `RoadGraph` holds numpy arrays only (about 30 bytes an edge, against
about 1,600 for networkx with OSM attributes), a KD-tree for snapping and the CCH for
queries. Queries are not shared between threads: each thread gets its own.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import routingkit_cch as rk
import shapely

if TYPE_CHECKING:
    import scipy.sparse as sp
    from scipy.spatial import cKDTree

    from geo_service.ingest.osm import HighwayWays

logger = logging.getLogger(__name__)

#: Per-thread CCH query objects (see `RoadGraph._query`).
_THREAD = threading.local()

Mode = Literal["walk", "drive"]
MODES: tuple[Mode, ...] = ("walk", "drive")
EARTH_RADIUS_M = 6_371_008.8

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

WALK_SPEED_KPH = 4.8
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


def _usable(tags: dict[str, str], mode: Mode) -> bool:
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


def _direction(tags: dict[str, str]) -> int:
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


def haversine_m(lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray) -> np.ndarray:
    """Great-circle distance in metres (vectorised)."""
    lon1, lat1, lon2, lat2 = (np.radians(a) for a in (lon1, lat1, lon2, lat2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(a, 1.0)))


def build_graph(ways: HighwayWays, mode: Mode, *, walk_speed_kph: float = WALK_SPEED_KPH
                ) -> tuple[dict[str, np.ndarray], list[str], dict[str, int]]:
    """Build the arrays of one graph from highway ways.

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
    names: list[str] = [""]
    name_index: dict[str, int] = {"": 0}
    tails: list[np.ndarray] = []
    heads: list[np.ndarray] = []
    speeds: list[np.ndarray] = []
    name_ids: list[np.ndarray] = []
    way_ids: list[np.ndarray] = []
    used_ways = 0
    for i, tags in enumerate(ways.tags):
        if not _usable(tags, mode):
            continue
        a, b = ways.offsets[i], ways.offsets[i + 1]
        if b - a < 2:
            continue
        ok = np.isfinite(ways.lon[a:b])
        seg = np.flatnonzero(ok[:-1] & ok[1:]) + a
        if len(seg) == 0:
            continue
        used_ways += 1
        highway = tags.get("highway", "")
        if mode == "walk":
            speed = walk_speed_kph * WALK_FACTORS.get(highway, 1.0)
            direction = 0
        else:
            speed = parse_maxspeed(tags.get("maxspeed")) or KZ_HWY_SPEEDS.get(highway, 30.0)
            direction = _direction(tags)
        name = tags.get("name", "")
        nid = name_index.get(name)
        if nid is None:
            nid = name_index[name] = len(names)
            names.append(name)
        u, v = seg, seg + 1
        if direction == 1:
            pairs = [(u, v)]
        elif direction == -1:
            pairs = [(v, u)]
        else:
            pairs = [(u, v), (v, u)]
        for t, h in pairs:
            tails.append(t)
            heads.append(h)
            speeds.append(np.full(len(t), speed, dtype=np.float64))
            name_ids.append(np.full(len(t), nid, dtype=np.int32))
            way_ids.append(np.full(len(t), ways.way_ids[i], dtype=np.int64))
    if not tails:
        empty = {k: np.zeros(0, dtype=np.int64) for k in ("node_osm", "tail", "head", "order")}
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
    # Keep the largest connected piece (strongly connected when driving: one-way streets
    # can trap a car).
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    n = len(node_osm)
    adj = sp.csr_matrix((np.ones(len(tail)), (tail, head)), shape=(n, n))
    n_comp, labels = connected_components(adj, directed=True,
                                          connection="strong" if mode == "drive" else "weak")
    biggest = np.bincount(labels).argmax()
    keep_node = labels == biggest
    new_id = np.full(n, -1, dtype=np.int64)
    new_id[keep_node] = np.arange(int(keep_node.sum()))
    keep_edge = keep_node[tail] & keep_node[head]
    tail, head = new_id[tail[keep_edge]], new_id[head[keep_edge]]
    time_ms, length, name_id, way_id = (a[keep_edge] for a in (time_ms, length, name_id, way_id))
    node_osm, lat, lon = node_osm[keep_node], lat[keep_node], lon[keep_node]
    node_order = np.asarray(rk.compute_order_inertial(len(node_osm), tail.astype(np.uint32),
                                                      head.astype(np.uint32), lat, lon), dtype=np.int64)
    arrays = {
        "node_osm": node_osm, "lat": lat, "lon": lon,
        "tail": tail.astype(np.int32), "head": head.astype(np.int32),
        "time_ms": time_ms.astype(np.int32), "length_m": length.astype(np.float32),
        "name_id": name_id.astype(np.int32), "way_id": way_id, "order": node_order.astype(np.int32),
    }
    stats = {"ways": used_ways, "nodes": len(node_osm), "edges": len(tail),
             "pieces_dropped": int(n_comp - 1), "nodes_dropped": int(n - len(node_osm))}
    logger.info("%s graph: %d nodes, %d edges from %d ways; %d disconnected pieces (%d nodes) dropped",
                mode, stats["nodes"], stats["edges"], used_ways, stats["pieces_dropped"],
                stats["nodes_dropped"])
    return arrays, names, stats


@dataclass
class Snap:
    """A point snapped to the nearest graph node."""

    node: int
    distance_m: float


@dataclass
class Route:
    """One shortest path by travel time."""

    time_s: float
    length_m: float
    coords: np.ndarray  # (k, 2) as [lon, lat]
    snap_from: Snap
    snap_to: Snap

    def to_dict(self) -> dict[str, Any]:
        return {
            "time_s": round(self.time_s, 1),
            "length_m": round(self.length_m, 1),
            "snap_distance_m": [round(self.snap_from.distance_m, 1), round(self.snap_to.distance_m, 1)],
            "geometry": {"type": "LineString", "coordinates": self.coords.round(7).tolist()},
        }


@dataclass
class RoadGraph:
    """A served graph: compact arrays, a KD-tree for snapping and a CCH for queries."""

    mode: str
    node_osm: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    tail: np.ndarray
    head: np.ndarray
    time_ms: np.ndarray
    length_m: np.ndarray
    name_id: np.ndarray
    way_id: np.ndarray
    order: np.ndarray
    names: list[str]
    _strtree: shapely.STRtree = field(init=False, repr=False)
    _kdtree: cKDTree | None = field(init=False, repr=False)
    _cch: Any = field(init=False, repr=False)
    _metric: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._lat0 = float(np.mean(self.lat)) if len(self.lat) else 0.0
        self._kx = math.cos(math.radians(self._lat0)) * EARTH_RADIUS_M * math.pi / 180
        self._ky = EARTH_RADIUS_M * math.pi / 180
        # Single snaps use shapely's STRtree (about 15 µs, and no scipy import at start-up);
        # batches use scipy's cKDTree, built on first use (7x faster per point in bulk).
        self._xy = np.column_stack([self.lon * self._kx, self.lat * self._ky])
        self._strtree = shapely.STRtree(shapely.points(self._xy))
        self._kdtree = None
        self._cch = rk.CCH(self.order, self.tail, self.head, False)
        self._metric = rk.CCHMetric(self._cch, self.time_ms)

    # -- construction ---------------------------------------------------------------
    @classmethod
    def from_npz(cls, path: Path, names: list[str]) -> RoadGraph:
        """Load a graph written by `save_npz`."""
        with np.load(path) as data:
            arrays = {k: data[k] for k in data.files}
        return cls(mode=str(arrays.pop("mode")), names=names, **arrays)

    @staticmethod
    def save_npz(path: Path, mode: str, arrays: dict[str, np.ndarray]) -> None:
        """Write graph arrays uncompressed (so they load in milliseconds)."""
        np.savez(path, mode=np.array(mode), **arrays)

    # -- facts ----------------------------------------------------------------------
    @property
    def n_nodes(self) -> int:
        return len(self.node_osm)

    @property
    def n_edges(self) -> int:
        return len(self.tail)

    def nbytes(self) -> int:
        """Bytes held by the arrays (not counting the KD-tree and the CCH)."""
        return sum(getattr(self, k).nbytes for k in ("node_osm", "lat", "lon", "tail", "head",
                                                      "time_ms", "length_m", "name_id", "way_id", "order"))

    def csr(self, *, weight: Literal["time", "length"] = "time") -> sp.csr_matrix:
        """The graph as a scipy CSR matrix (seconds or metres), for bounded Dijkstra."""
        import scipy.sparse as sp

        w = self.time_ms / 1000.0 if weight == "time" else self.length_m.astype(np.float64)
        return sp.csr_matrix((w, (self.tail, self.head)), shape=(self.n_nodes, self.n_nodes))

    # -- queries --------------------------------------------------------------------
    def snap(self, lat: float, lon: float) -> Snap:
        """Snap one point to the nearest node."""
        idx = int(self._strtree.query_nearest(shapely.Point(lon * self._kx, lat * self._ky))[0])
        d = float(haversine_m(np.float64(lon), np.float64(lat), self.lon[idx], self.lat[idx]))
        return Snap(node=idx, distance_m=d)

    def snap_many(self, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Snap many points: (node indices, distances in metres)."""
        lat = np.asarray(lat, dtype=np.float64)
        lon = np.asarray(lon, dtype=np.float64)
        if self._kdtree is None:
            from scipy.spatial import cKDTree

            self._kdtree = cKDTree(self._xy)
        _, idx = self._kdtree.query(np.column_stack([lon * self._kx, lat * self._ky]))
        idx = np.asarray(idx, dtype=np.int64)
        return idx, haversine_m(lon, lat, self.lon[idx], self.lat[idx])

    def _query(self) -> Any:
        """This thread's CCH query object for this graph.

        RoutingKit's query objects must be used and dropped on the thread that made them.
        They live in a module-level thread-local (never dropped from another thread) keyed
        by graph, and each thread drops its queries of graphs that are gone (a reload).
        """
        queries: dict[int, tuple[weakref.ref[RoadGraph], Any]] | None = getattr(_THREAD, "queries", None)
        if queries is None:
            queries = _THREAD.queries = {}
        entry = queries.get(id(self))
        if entry is not None and entry[0]() is self:
            return entry[1]
        for key in [k for k, (ref, _) in queries.items() if ref() is None]:
            del queries[key]
        q = rk.CCHQuery(self._metric)
        queries[id(self)] = (weakref.ref(self), q)
        return q

    def node_route(self, source: int, target: int) -> tuple[float | None, list[int], list[int]]:
        """Travel time (s), node path and edge path between two nodes; None if unreachable."""
        res = self._query().run(source, target)
        # A CCHQueryResult must be dropped before the next run on the same query.
        dist, nodes, arcs = res.distance, res.node_path, res.arc_path
        del res
        return (None if dist is None else dist / 1000.0), nodes, arcs

    def route(self, from_lat: float, from_lon: float, to_lat: float, to_lon: float) -> Route | None:
        """Shortest path by travel time between two points, or None if unreachable."""
        a = self.snap(from_lat, from_lon)
        b = self.snap(to_lat, to_lon)
        time_s, nodes, arcs = self.node_route(a.node, b.node)
        if time_s is None:
            return None
        idx = np.asarray(nodes, dtype=np.int64)
        coords = np.column_stack([self.lon[idx], self.lat[idx]])
        length = float(self.length_m[np.asarray(arcs, dtype=np.int64)].sum()) if arcs else 0.0
        return Route(time_s=time_s, length_m=length, coords=coords, snap_from=a, snap_to=b)

    def matrix(self, sources: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Travel times in seconds between node sets (inf when unreachable)."""
        sources = np.asarray(sources, dtype=np.int64)
        targets = np.asarray(targets, dtype=np.int64)
        out = np.full((len(sources), len(targets)), np.inf)
        if len(sources) == 0 or len(targets) == 0:
            return out
        otm = rk.CCHOneToMany(self._metric, targets.tolist())
        for i, s in enumerate(sources.tolist()):
            # None (unreachable) becomes NaN here, then inf.
            out[i] = np.array(otm.distances_from(s), dtype=np.float64) / 1000.0
        out[np.isnan(out)] = np.inf
        del otm
        return out
