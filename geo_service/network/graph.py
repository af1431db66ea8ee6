"""Walking and driving graphs: stored as compact arrays, answering snaps, routes and
travel-time matrices fast.

Build side (:mod:`geo_service.ingest.roads`): `build_graph` turns highway ways into a
directed edge list (one edge per pair of consecutive OSM nodes, so the path geometry is
the nodes themselves), with a Kazakhstan speed table, keeps the largest connected piece and orders the nodes for a
customizable contraction hierarchy (RoutingKit's CCH through ``routingkit-cch``).

Serve side: `RoadGraph` holds numpy arrays only (about 30 bytes an edge, against
about 1,600 for networkx with OSM attributes), a KD-tree for snapping and the CCH for
queries. Queries are not shared between threads: each thread gets its own.
"""

from __future__ import annotations

import logging
import math
import threading
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import routingkit_cch as rk

from geo_service.network.geodesy import EARTH_RADIUS_M, haversine_m
from geo_service.network.npz import mmap_npz

if TYPE_CHECKING:
    import scipy.sparse as sp
    from scipy.spatial import cKDTree


logger = logging.getLogger(__name__)

#: Per-thread CCH query objects (see `RoadGraph._query`).
_THREAD = threading.local()

Mode = Literal["walk", "drive"]
MODES: tuple[Mode, ...] = ("walk", "drive")


WALK_SPEED_KPH = 4.8


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
    _kdtree: cKDTree | None = field(init=False, repr=False)
    _cch_pair: tuple[Any, Any] | None = field(init=False, repr=False)
    _xy_arr: np.ndarray | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._lat0 = float(np.mean(self.lat)) if len(self.lat) else 0.0
        self._kx = math.cos(math.radians(self._lat0)) * EARTH_RADIUS_M * math.pi / 180
        self._ky = EARTH_RADIUS_M * math.pi / 180
        # The arrays may be memory-mapped from the bundle (shared by the workers); what is
        # derived from them is built on first use, so a large city loads in milliseconds:
        # snaps use scipy's cKDTree, routes the CCH.
        self._kdtree = None
        self._cch_pair = None
        self._xy_arr = None
        self._lock = threading.Lock()

    @property
    def _tree(self) -> cKDTree:
        """The KD-tree of the node plane (scipy's: 0.1 s for 376k nodes, 35 µs a single query)."""
        if self._kdtree is None:
            with self._lock:
                if self._kdtree is None:
                    from scipy.spatial import cKDTree  # noqa: PLC0415 - scipy loaded on first use (start-up time)

                    self._kdtree = cKDTree(self.xy)
        return self._kdtree

    @property
    def _metric(self) -> Any:
        """The customised CCH (built on first route, matrix or isochrone of this process)."""
        if self._cch_pair is None:
            with self._lock:
                if self._cch_pair is None:
                    # routingkit_cch's stub says list[int]; the PyO3 binding takes any int sequence.
                    cch = rk.CCH(self.order, self.tail, self.head, False)  # type: ignore[arg-type]
                    self._cch_pair = (cch, rk.CCHMetric(cch, self.time_ms))  # type: ignore[arg-type]
        return self._cch_pair[1]

    def warm(self) -> None:
        """Build the snapping tree and the CCH now (a server does it before taking requests)."""
        _ = self._tree
        _ = self._metric

    # -- construction ---------------------------------------------------------------
    @classmethod
    def from_npz(cls, path: Path, names: list[str], *, mmap: bool = True) -> RoadGraph:
        """Load a graph written by `save_npz`; its arrays memory-mapped (read-only) when ``mmap``."""
        arrays = mmap_npz(path) if mmap else None
        if arrays is None:
            with np.load(path) as data:
                arrays = {k: data[k] for k in data.files}
        return cls(mode=str(arrays.pop("mode")), names=names, **arrays)

    @staticmethod
    def save_npz(path: Path, mode: str, arrays: dict[str, np.ndarray]) -> None:
        """Write graph arrays uncompressed (so they load in milliseconds)."""
        # Any values: numpy's stub would check **arrays against its allow_pickle keyword.
        payload: dict[str, Any] = {"mode": np.array(mode), **arrays}
        np.savez(path, **payload)

    # -- facts ----------------------------------------------------------------------
    @property
    def kx(self) -> float:
        """Metres per degree of longitude in the graph's local plane (at its mean latitude)."""
        return self._kx

    @property
    def ky(self) -> float:
        """Metres per degree of latitude in the graph's local plane."""
        return self._ky

    @property
    def xy(self) -> np.ndarray:
        """Node positions in the graph's local plane, metres: ``(lon * kx, lat * ky)``."""
        if self._xy_arr is None:
            self._xy_arr = np.column_stack([self.lon * self._kx, self.lat * self._ky])
        return self._xy_arr

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
        import scipy.sparse as sp  # noqa: PLC0415 - scipy loaded on first use (start-up time)

        w = self.time_ms / 1000.0 if weight == "time" else self.length_m.astype(np.float64)
        return sp.csr_matrix((w, (self.tail, self.head)), shape=(self.n_nodes, self.n_nodes))

    # -- queries --------------------------------------------------------------------
    def snap(self, lat: float, lon: float) -> Snap:
        """Snap one point to the nearest node."""
        idx = int(self._tree.query((lon * self._kx, lat * self._ky))[1])
        d = float(haversine_m(np.float64(lon), np.float64(lat), self.lon[idx], self.lat[idx]))
        return Snap(node=idx, distance_m=d)

    def snap_many(self, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Snap many points: (node indices, distances in metres)."""
        lat = np.asarray(lat, dtype=np.float64)
        lon = np.asarray(lon, dtype=np.float64)
        _, idx = self._tree.query(np.column_stack([lon * self._kx, lat * self._ky]))
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
