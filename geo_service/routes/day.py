"""One day's route for a district inspector: visits, time windows, breaks, reception.

The day is a prize-collecting vehicle-routing problem with time windows for one vehicle,
solved in two steps over a travel-time matrix computed on the road graph
(`RoadGraph.matrix`, a CCH one-to-many):

1. VROOM (``pyvroom``) chooses the visits under the priority rule below: it supports several
   time windows per visit, priorities and fixed breaks natively and answers in about 0.15 s
   for 60 visits (exploration 3 on 2 threads, the measured default).
2. PyVRP's iterated local search polishes that tour with what is left of a 0.45 s budget
   (`geo_service.routes.polish.polish_tour`): when VROOM left a few visits out it first tries to
   make them all (a heuristic can miss a feasible insertion, and then the day plan would
   wrongly say "does not fit"), then shortens the tour. Its result is re-timed and checked
   and used only when it is better. Two searches run on two threads with their own seeds
   (PyVRP releases the GIL). Measured in ``benchmarks/bench_routes.py`` (60 walking visits
   in Almaty, a third with a 90-minute window): VROOM alone keeps 59 of 60 visits; VROOM
   (exploration 3) plus the polish keeps all 60 in 0.46 s, median 1.7% more walking than
   PyVRP's 2 s tour over seven seeds (range +1.0% to +2.7%); on two other draws of the same
   kind of day the median equals PyVRP's 2 s tour. Exploration 4 leaves the polish less
   time (about +5%). On a day with a break and the evening reception VROOM alone kept 45
   visits, with the polish 57.

Priority rule
    Visits carry a class (1 = domestic-violence follow-up, 2 = preventive register,
    3 = appeal, 4 = patrol point; lower = more important). A visit is never dropped to
    make room for a lower-priority one: the classes are optimised lexicographically
    (first solve with class weights; when the result breaks the rule, solve class by
    class, pinning the visits kept so far, and verify each stage, falling back to the
    previous stage when a pinned visit is lost). Visits that cannot be made on their own
    (an unreachable window, no road nearby) are set aside first, with their reason, and
    do not count against the rule.

Modes
    ``walk`` and ``drive`` use their graph. ``drive_walk`` (rural precincts) clusters the
    visits by walking time (complete-linkage hierarchical clustering, every pair of a
    cluster within `CLUSTER_WALK_S`), parks at the medoid of each cluster, drives between
    parkings and walks within a cluster; the solver sees the composite matrix.

Times are minutes since midnight at the API, seconds inside.
"""

from __future__ import annotations

import html
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any, Literal
from xml.sax.saxutils import escape as xml_escape

import numpy as np

from geo_service.errors import InputError

logger = logging.getLogger(__name__)

TravelMode = Literal["walk", "drive", "drive_walk"]
TRAVEL_MODES: tuple[str, ...] = ("walk", "drive", "drive_walk")
MAX_VISITS = 500
PRIORITY_CLASSES = {1: "domestic-violence follow-up", 2: "preventive register", 3: "appeal",
                    4: "patrol point"}
#: VROOM priorities (0-100) of the first, single solve; the staged solve enforces the rule.
_CLASS_WEIGHT = {1: 90, 2: 27, 3: 8, 4: 2}
_PINNED = 100
#: Walking time within which visits are grouped in ``drive_walk`` mode (complete linkage).
CLUSTER_WALK_S = 600
#: Parking and getting out of the car, added to every drive in ``drive_walk`` mode.
PARK_S = 120
_UNREACHABLE = 10_000_000
_RECEPTION_ID = 1_000_000
_VROOM_EXPLORATION = 3
_VROOM_THREADS = 2


# -- input ---------------------------------------------------------------------------------

@dataclass
class Visit:
    """One place to visit.

    Parameters
    ----------
    id
        The caller's identifier (unique within a plan).
    lat, lon
        Location (WGS 84).
    service_min
        Minutes on site.
    priority
        Class 1-4, lower is more important (see `PRIORITY_CLASSES`).
    time_windows
        ``(start_min, end_min)`` pairs in minutes since midnight within which the visit
        must *start*; empty means any time in the shift.
    label
        The caller's free text, shown on the route sheet; never logged.
    """

    id: str
    lat: float
    lon: float
    service_min: float = 15.0
    priority: int = 3
    time_windows: list[tuple[int, int]] = field(default_factory=list)
    label: str = ""


@dataclass
class Shift:
    """The working day: start and end, fixed breaks and an optional reception at the post."""

    start_min: int = 9 * 60
    end_min: int = 18 * 60
    breaks: list[tuple[int, int]] = field(default_factory=list)
    reception: tuple[int, int] | None = None

    def working_min(self) -> float:
        """Minutes available for visits and travel (shift minus breaks and reception)."""
        busy = sum(e - s for s, e in self.breaks)
        if self.reception:
            busy += max(0, min(self.reception[1], self.end_min) - self.reception[0])
        return self.end_min - self.start_min - busy


# -- output --------------------------------------------------------------------------------

def hhmm(minutes: float) -> str:
    """``HH:MM`` of minutes since midnight (past midnight shows as 24:10 and so on)."""
    m = int(round(minutes))
    return f"{m // 60:02d}:{m % 60:02d}"


@dataclass
class Stop:
    """A stop in visiting order. Times are minutes since midnight."""

    kind: Literal["start", "visit", "break", "reception", "end"]
    lat: float
    lon: float
    arrival_min: float
    start_min: float
    departure_min: float
    slack_min: float
    visit_id: str | None = None
    label: str = ""
    priority: int | None = None
    time_windows: list[tuple[int, int]] = field(default_factory=list)
    snap_m: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "visit_id": self.visit_id, "label": self.label, "priority": self.priority,
            "lat": round(self.lat, 7), "lon": round(self.lon, 7),
            "arrival_min": round(self.arrival_min, 1), "start_min": round(self.start_min, 1),
            "departure_min": round(self.departure_min, 1), "slack_min": round(self.slack_min, 1),
            "arrival": hhmm(self.arrival_min), "start": hhmm(self.start_min),
            "departure": hhmm(self.departure_min), "slack": hhmm(self.slack_min),
            "time_windows": [[hhmm(s), hhmm(e)] for s, e in self.time_windows],
            "snap_m": round(self.snap_m, 1),
        }


@dataclass
class Segment:
    """A piece of a leg in one mode (a leg has one segment unless it is drive-then-walk)."""

    mode: str
    time_s: float
    length_m: float
    coords: list[tuple[float, float]]  # [lon, lat]


@dataclass
class Leg:
    """The way from stop ``from_stop`` to stop ``to_stop`` (indices into `DayPlan.stops`)."""

    from_stop: int
    to_stop: int
    time_s: float
    length_m: float
    segments: list[Segment]

    def geometry(self) -> dict[str, Any]:
        coords: list[list[float]] = []
        for seg in self.segments:
            for lon, lat in seg.coords:
                p = [round(lon, 7), round(lat, 7)]
                if not coords or coords[-1] != p:
                    coords.append(p)
        if len(coords) == 1:
            coords.append(coords[0])
        return {"type": "LineString", "coordinates": coords}

    def to_dict(self) -> dict[str, Any]:
        return {
            "from_stop": self.from_stop, "to_stop": self.to_stop, "time_s": round(self.time_s, 1),
            "length_m": round(self.length_m, 1),
            "modes": [s.mode for s in self.segments],
            "geometry": self.geometry(),
        }


@dataclass
class Unassigned:
    """A visit left out, with the reason."""

    visit_id: str
    label: str
    priority: int
    reason: str
    code: str  # no_road | unreachable | window | shift | priority | capacity

    def to_dict(self) -> dict[str, Any]:
        return {"visit_id": self.visit_id, "label": self.label, "priority": self.priority,
                "reason": self.reason, "code": self.code}


@dataclass
class DayPlan:
    """One day's route."""

    mode: str
    shift: Shift
    stops: list[Stop]
    legs: list[Leg]
    unassigned: list[Unassigned]
    warnings: list[str]
    snap_m: dict[str, float]
    solver: dict[str, Any]

    @property
    def visit_ids(self) -> list[str]:
        return [s.visit_id for s in self.stops if s.kind == "visit" and s.visit_id is not None]

    def totals(self) -> dict[str, float]:
        """Minutes of travel, service (visits), idle (waiting), breaks, reception and the whole day."""
        travel = sum(leg.time_s for leg in self.legs) / 60
        service = sum(s.departure_min - s.start_min for s in self.stops if s.kind == "visit")
        idle = sum(s.start_min - s.arrival_min for s in self.stops if s.kind in ("visit", "reception"))
        breaks = sum(s.departure_min - s.start_min for s in self.stops if s.kind == "break")
        reception = sum(s.departure_min - s.start_min for s in self.stops if s.kind == "reception")
        day = self.stops[-1].arrival_min - self.stops[0].departure_min if self.stops else 0.0
        length = sum(leg.length_m for leg in self.legs)
        return {"travel_min": round(travel, 1), "service_min": round(service, 1), "idle_min": round(idle, 1),
                "break_min": round(breaks, 1), "reception_min": round(reception, 1), "day_min": round(day, 1),
                "length_m": round(length, 1), "visits": len(self.visit_ids),
                "unassigned": len(self.unassigned)}

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "shift": {"start": hhmm(self.shift.start_min), "end": hhmm(self.shift.end_min),
                      "breaks": [[hhmm(s), hhmm(e)] for s, e in self.shift.breaks],
                      "reception": [hhmm(x) for x in self.shift.reception] if self.shift.reception else None},
            "stops": [s.to_dict() for s in self.stops],
            "legs": [leg.to_dict() for leg in self.legs],
            "totals": self.totals(),
            "unassigned": [u.to_dict() for u in self.unassigned],
            "warnings": list(self.warnings),
            "snap_m": {k: round(v, 1) for k, v in self.snap_m.items()},
            "solver": dict(self.solver),
        }


# -- validation ------------------------------------------------------------------------------

def _check_window(w: tuple[int, int], what: str) -> tuple[int, int]:
    try:
        s, e = (int(round(float(w[0]))), int(round(float(w[1]))))
    except (TypeError, ValueError, IndexError):
        msg = f"{what}: a time window must be two numbers of minutes since midnight, got {w!r}"
        raise InputError(msg) from None
    if e <= s:
        msg = f"{what}: time window {hhmm(s)}-{hhmm(e)} ends before it starts"
        raise InputError(msg)
    if s < 0 or e > 2 * 1440:
        msg = f"{what}: time window {s}-{e} is outside 0-2880 minutes"
        raise InputError(msg)
    return s, e


def validate(visits: list[Visit], shift: Shift, mode: str, *, limit: int = MAX_VISITS) -> None:
    """Raise `InputError` for input the planner cannot take (and normalise windows in place)."""
    if mode not in TRAVEL_MODES:
        msg = f"unknown travel mode {mode!r}; use one of {', '.join(TRAVEL_MODES)}"
        raise InputError(msg)
    if len(visits) > limit:
        msg = f"{len(visits)} visits: at most {limit} fit in one plan"
        raise InputError(msg)
    shift.start_min, shift.end_min = _check_window((shift.start_min, shift.end_min), "shift")
    shift.breaks = sorted(_check_window(b, "break") for b in shift.breaks)
    for s, e in shift.breaks:
        if s < shift.start_min or e > shift.end_min:
            msg = f"break {hhmm(s)}-{hhmm(e)} is outside the shift {hhmm(shift.start_min)}-{hhmm(shift.end_min)}"
            raise InputError(msg)
    for (s1, e1), (s2, _) in zip(shift.breaks, shift.breaks[1:]):
        if s2 < e1:
            msg = "breaks overlap"
            raise InputError(msg)
    if shift.reception is not None:
        shift.reception = _check_window(shift.reception, "reception")
        rs, re_ = shift.reception
        if rs < shift.start_min or rs >= shift.end_min:
            msg = (f"reception {hhmm(rs)}-{hhmm(re_)} must start within the shift "
                   f"{hhmm(shift.start_min)}-{hhmm(shift.end_min)}")
            raise InputError(msg)
        if any(s < re_ and rs < e for s, e in shift.breaks):
            msg = "the reception overlaps a break"
            raise InputError(msg)
    seen: set[str] = set()
    for i, v in enumerate(visits):
        what = f"visit {i + 1}"
        if not isinstance(v, Visit):
            msg = f"{what}: not a Visit"
            raise InputError(msg)
        v.id = str(v.id)
        if v.id in seen:
            msg = f"{what}: duplicate visit id"
            raise InputError(msg)
        seen.add(v.id)
        try:
            v.lat, v.lon = float(v.lat), float(v.lon)
            v.service_min = float(v.service_min)
        except (TypeError, ValueError):
            msg = f"{what}: lat, lon and service_min must be numbers"
            raise InputError(msg) from None
        if not (math.isfinite(v.lat) and math.isfinite(v.lon) and -90 <= v.lat <= 90 and -180 <= v.lon <= 180):
            msg = f"{what}: latitude/longitude out of range"
            raise InputError(msg)
        if not (0 <= v.service_min <= 1440):
            msg = f"{what}: service_min must be between 0 and 1440"
            raise InputError(msg)
        if v.priority not in PRIORITY_CLASSES:
            msg = f"{what}: priority must be one of 1, 2, 3, 4 (1 is the most important)"
            raise InputError(msg)
        v.time_windows = sorted(_check_window(w, what) for w in v.time_windows)


# -- the composite travel-time model -----------------------------------------------------------

@dataclass
class _Network:
    """Travel times between the plan's locations, and how to draw each leg."""

    times: np.ndarray  # (n, n) seconds, inf unreachable
    legs: Any  # callable(i, j) -> list[Segment]


def _segment(graph: Any, mode: str, a: int, b: int) -> Segment:
    t, nodes, arcs = graph.node_route(a, b)
    idx = np.asarray(nodes if nodes else [a], dtype=np.int64)
    coords = list(zip(graph.lon[idx].tolist(), graph.lat[idx].tolist()))
    length = float(graph.length_m[np.asarray(arcs, dtype=np.int64)].sum()) if arcs else 0.0
    return Segment(mode=mode, time_s=float(t or 0.0), length_m=length, coords=coords)


def _single_network(city: Any, mode: str, lat: np.ndarray, lon: np.ndarray
                    ) -> tuple[_Network, np.ndarray]:
    graph = city.graph(mode)
    nodes, dist = graph.snap_many(lat, lon)
    uniq, inv = np.unique(nodes, return_inverse=True)
    m = graph.matrix(uniq, uniq)
    times = m[np.ix_(inv, inv)]

    def legs(i: int, j: int) -> list[Segment]:
        seg = _segment(graph, mode, int(nodes[i]), int(nodes[j]))
        seg.coords = [(float(lon[i]), float(lat[i]))] + seg.coords + [(float(lon[j]), float(lat[j]))]
        return [seg]

    return _Network(times=times, legs=legs), dist


def _drive_walk_network(city: Any, lat: np.ndarray, lon: np.ndarray, fixed: int
                        ) -> tuple[_Network, np.ndarray, np.ndarray]:
    """Composite matrix: walk within clusters of visits, drive between their parkings.

    Locations ``0..fixed-1`` are the start, end and post (reached by car); the rest are visits.
    Returns the network, the walking snap distances and the cluster of every location
    (-1 for the fixed ones).
    """
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    walk, drive = city.walk, city.drive
    n = len(lat)
    vis = np.arange(fixed, n)
    w_nodes, w_dist = walk.snap_many(lat, lon)
    d_nodes, _ = drive.snap_many(lat, lon)
    uniq, inv = np.unique(w_nodes[vis], return_inverse=True)
    w = walk.matrix(uniq, uniq)[np.ix_(inv, inv)]  # visits x visits, walking
    k = len(vis)
    cluster = np.full(n, -1, dtype=np.int64)
    if k == 1:
        labels = np.zeros(1, dtype=np.int64)
    elif k > 1:
        sym = np.maximum(w, w.T)
        sym = np.where(np.isfinite(sym), sym, 1e9)
        np.fill_diagonal(sym, 0.0)
        labels = fcluster(linkage(squareform(sym, checks=False), method="complete"),
                          t=CLUSTER_WALK_S, criterion="distance") - 1
    else:
        labels = np.zeros(0, dtype=np.int64)
    cluster[vis] = labels
    n_clusters = int(labels.max()) + 1 if k else 0
    # Parking: the medoid of the cluster (least total walk to its members), on the drive graph.
    medoid = np.zeros(n_clusters, dtype=np.int64)  # index into vis
    for c in range(n_clusters):
        members = np.flatnonzero(labels == c)
        sub = w[np.ix_(members, members)]
        medoid[c] = members[int(np.argmin(np.where(np.isfinite(sub), sub, 1e9).sum(axis=1)))]
    park_node = d_nodes[vis[medoid]] if n_clusters else np.zeros(0, dtype=np.int64)
    # Drive matrix between the fixed points and the parkings.
    car_nodes = np.concatenate([d_nodes[:fixed], park_node])
    cu, cinv = np.unique(car_nodes, return_inverse=True)
    dm = drive.matrix(cu, cu)[np.ix_(cinv, cinv)]
    ncar = len(car_nodes)
    car_of = np.empty(n, dtype=np.int64)  # car place of each location: fixed point or its parking
    car_of[:fixed] = np.arange(fixed)
    car_of[vis] = fixed + labels
    walk_to_park = np.zeros(n)  # walk from location to its parking
    walk_from_park = np.zeros(n)
    for c in range(n_clusters):
        members = np.flatnonzero(labels == c)
        walk_to_park[vis[members]] = w[members, medoid[c]]
        walk_from_park[vis[members]] = w[medoid[c], members]
    times = (walk_to_park[:, None] + dm[np.ix_(car_of, car_of)] + walk_from_park[None, :]
             + PARK_S * (np.arange(n) >= fixed)[None, :])
    vi = vis[:, None], vis[None, :]
    same = labels[:, None] == labels[None, :]
    block = times[vi]
    times[vi] = np.where(same, w, block)
    np.fill_diagonal(times, 0.0)
    del ncar

    def legs(i: int, j: int) -> list[Segment]:
        ci, cj = cluster[i], cluster[j]
        pi = (lat[i], lon[i]) if ci < 0 else (lat[vis[medoid[ci]]], lon[vis[medoid[ci]]])
        pj = (lat[j], lon[j]) if cj < 0 else (lat[vis[medoid[cj]]], lon[vis[medoid[cj]]])
        if ci >= 0 and ci == cj:
            seg = _segment(walk, "walk", int(w_nodes[i]), int(w_nodes[j]))
            seg.coords = [(float(lon[i]), float(lat[i]))] + seg.coords + [(float(lon[j]), float(lat[j]))]
            return [seg]
        out: list[Segment] = []
        if ci >= 0 and (lat[i], lon[i]) != pi:
            mi = int(vis[medoid[ci]])
            out.append(_segment(walk, "walk", int(w_nodes[i]), int(w_nodes[mi])))
        a = int(d_nodes[i]) if ci < 0 else int(park_node[ci])
        b = int(d_nodes[j]) if cj < 0 else int(park_node[cj])
        out.append(_segment(drive, "drive", a, b))
        if cj >= 0 and (lat[j], lon[j]) != pj:
            mj = int(vis[medoid[cj]])
            out.append(_segment(walk, "walk", int(w_nodes[mj]), int(w_nodes[j])))
        out[0].coords.insert(0, (float(lon[i]), float(lat[i])))
        out[-1].coords.append((float(lon[j]), float(lat[j])))
        return out

    return _Network(times=times, legs=legs), w_dist, cluster


# -- solving -----------------------------------------------------------------------------------

@dataclass
class _Problem:
    times_s: np.ndarray  # int matrix for VROOM
    start_loc: int
    end_loc: int
    post_loc: int
    shift: Shift
    vehicle_end_s: int
    visits: list[Visit]
    loc_of: list[int]  # location index of each visit


def _solve_vroom(p: _Problem, jobs: dict[int, int], *, exploration: int = _VROOM_EXPLORATION,
                 threads: int = 1) -> dict[str, Any]:
    """Solve with VROOM. ``jobs`` maps visit index -> VROOM priority. Returns the solution dict."""
    import vroom

    inp = vroom.Input()
    inp.set_durations_matrix("car", p.times_s)
    sh = p.shift
    breaks = [vroom.Break(k + 1, time_windows=[vroom.TimeWindow(s * 60, s * 60)], service=(e - s) * 60)
              for k, (s, e) in enumerate(sh.breaks)]
    inp.add_vehicle(vroom.Vehicle(1, start=p.start_loc, end=p.end_loc,
                                  time_window=vroom.TimeWindow(sh.start_min * 60, p.vehicle_end_s),
                                  breaks=breaks))
    job_list = []
    for i, prio in jobs.items():
        v = p.visits[i]
        tws = [vroom.TimeWindow(s * 60, e * 60) for s, e in v.time_windows]
        job_list.append(vroom.Job(i, location=p.loc_of[i], default_service=int(round(v.service_min * 60)),
                                  priority=int(prio), time_windows=tws))
    if sh.reception is not None:
        rs, re_ = sh.reception
        job_list.append(vroom.Job(_RECEPTION_ID, location=p.post_loc, default_service=(re_ - rs) * 60,
                                  priority=_PINNED, time_windows=[vroom.TimeWindow(rs * 60, rs * 60)]))
    if not job_list:
        return {"routes": [], "unassigned": []}
    inp.add_job(job_list)
    return inp.solve(exploration_level=exploration, nb_threads=threads).to_dict()


def _kept(sol: dict[str, Any]) -> set[int]:
    return {int(s["id"]) for r in sol.get("routes", []) for s in r["steps"]
            if s["type"] == "job" and int(s["id"]) != _RECEPTION_ID}


def _has_reception(sol: dict[str, Any]) -> bool:
    return any(s["type"] == "job" and int(s["id"]) == _RECEPTION_ID
               for r in sol.get("routes", []) for s in r["steps"])


def _rule_holds(p: _Problem, kept: set[int], candidates: list[int]) -> bool:
    """Strict form: every dropped candidate's class >= every kept visit's class."""
    dropped = [i for i in candidates if i not in kept]
    if not dropped or not kept:
        return True
    return min(p.visits[i].priority for i in dropped) >= max(p.visits[i].priority for i in kept)


def solve_with_priorities(p: _Problem, candidates: list[int], *, exploration: int = _VROOM_EXPLORATION,
                          threads: int = _VROOM_THREADS) -> tuple[dict[str, Any], dict[str, Any]]:
    """Solve so that no visit is dropped in favour of a lower-priority one.

    Returns the VROOM solution and facts about the solve (stages, time).
    """
    t0 = time.perf_counter()
    want_reception = p.shift.reception is not None
    sol = _solve_vroom(p, {i: _CLASS_WEIGHT[p.visits[i].priority] for i in candidates}, exploration=exploration,
                       threads=threads)
    stages = 1
    kept = _kept(sol)
    if not _rule_holds(p, kept, candidates) or (want_reception and not _has_reception(sol)):
        # Lexicographic: class by class, pinning what earlier classes kept.
        # Classes the first solve kept in full stay pinned; staging starts at the first class
        # it cut.
        cut = min((p.visits[i].priority for i in candidates if i not in kept), default=1)
        if want_reception and not _has_reception(sol):
            cut = 1
        pinned: set[int] = {i for i in kept if p.visits[i].priority < cut}
        best: dict[str, Any] | None = None
        for cls in sorted({p.visits[i].priority for i in candidates if p.visits[i].priority >= cut}):
            new = [i for i in candidates if p.visits[i].priority == cls]
            jobs = {i: _PINNED for i in pinned}
            jobs.update({i: 1 for i in new})
            trial = _solve_vroom(p, jobs, exploration=exploration, threads=threads)
            stages += 1
            got = _kept(trial)
            if not (pinned <= got and (not want_reception or _has_reception(trial))):
                break  # a pinned visit was lost: this class and the later ones stay out
            best, pinned = trial, pinned | (got & set(new))
        if best is None:
            best = _solve_vroom(p, {i: _PINNED for i in pinned}, exploration=exploration, threads=threads)
            stages += 1
        sol = best
        sol, extra = _repair_priorities(p, sol, candidates, exploration=exploration, threads=threads)
        stages += extra
    if want_reception and not _has_reception(sol):
        msg = "the reception at the post cannot be held: the post cannot be reached at its start"
        raise InputError(msg)
    return sol, {"engine": "vroom", "exploration": exploration, "threads": threads, "stages": stages,
                 "solve_s": round(time.perf_counter() - t0, 4)}


def _repair_priorities(p: _Problem, sol: dict[str, Any], candidates: list[int], *, exploration: int,
                       threads: int, attempts: int = 6) -> tuple[dict[str, Any], int]:
    """Put back a dropped visit that a heuristic stage lost while less important visits stay.

    VROOM is a heuristic: a class stage can drop a visit that would fit beside the visits of
    its class and above. For each such visit (most important first) solve once more with it
    and every kept visit of its class or above pinned, the less important ones optional;
    accept when all the pinned visits are kept. Bounded by ``attempts`` solves.
    """
    tries = 0
    want_reception = p.shift.reception is not None
    while tries < attempts:
        kept = _kept(sol)
        if _rule_holds(p, kept, candidates):
            break
        worst_kept = max(p.visits[i].priority for i in kept)
        dropped = sorted((i for i in candidates if i not in kept and p.visits[i].priority < worst_kept),
                         key=lambda i: p.visits[i].priority)
        repaired = False
        for d in dropped:
            if tries >= attempts:
                break
            cls = p.visits[d].priority
            jobs = {i: _PINNED for i in kept if p.visits[i].priority <= cls}
            jobs[d] = _PINNED
            jobs.update({i: _CLASS_WEIGHT[p.visits[i].priority] for i in kept if p.visits[i].priority > cls})
            trial = _solve_vroom(p, jobs, exploration=exploration, threads=threads)
            tries += 1
            got = _kept(trial)
            if all(i in got for i, w in jobs.items() if w == _PINNED) and (not want_reception or _has_reception(trial)):
                sol, repaired = trial, True
                break
        if not repaired:
            break
    return sol, tries


#: Default time budget of a whole day plan (matrix, VROOM, polish), seconds: the polish gets
#: what VROOM leaves of it, at least `POLISH_MIN_S`; see ``benchmarks/bench_routes.py``.
DAY_BUDGET_S = 0.45
POLISH_MIN_S = 0.1


# -- the day plan --------------------------------------------------------------------------------

def _lone_check(p: _Problem, i: int) -> tuple[str, str] | None:
    """Why visit ``i`` cannot be made even alone, or None."""
    v = p.visits[i]
    t = p.times_s
    loc = p.loc_of[i]
    go, back = t[p.start_loc, loc], t[loc, p.end_loc]
    if go >= _UNREACHABLE or back >= _UNREACHABLE:
        return "unreachable", "no road connection between the visit and the start or end point"
    sh = p.shift
    earliest = sh.start_min * 60 + go
    service = v.service_min * 60
    windows = v.time_windows or [(sh.start_min, p.vehicle_end_s // 60)]
    reachable = [(s, e) for s, e in windows if earliest <= e * 60]
    if not reachable:
        w = windows[-1]
        where = "the post" if (p.start_loc == p.post_loc) else "the start point"
        return "window", (f"time window {hhmm(w[0])}-{hhmm(w[1])} cannot be reached from {where} in time "
                          f"(earliest arrival {hhmm(earliest / 60)})")
    for s, e in reachable:
        begin = max(earliest, s * 60)
        if begin + service + back <= p.vehicle_end_s:
            return None
    s, e = reachable[0]
    return "shift", (f"{v.service_min:.0f} min on site starting at {hhmm(max(earliest, s * 60) / 60)} "
                     f"and the way back do not fit before the shift ends at {hhmm(p.vehicle_end_s / 60)}")


def _latest_starts(steps: list[dict[str, Any]], p: _Problem, kinds: list[str],
                   windows: list[list[tuple[int, int]]]) -> list[float]:
    """Latest start (s) of every step that keeps all later steps feasible (backward pass).

    Breaks and the reception are fixed: their latest start is their start.
    """
    n = len(steps)
    latest = [0.0] * n
    latest[-1] = float(p.vehicle_end_s)
    for k in range(n - 2, -1, -1):
        st, nxt = steps[k], steps[k + 1]
        start_k = st["arrival"] + st.get("waiting_time", 0)
        travel = nxt["arrival"] - (start_k + st.get("service", 0))  # travel before step k+1's arrival
        bound = latest[k + 1] - travel - st.get("service", 0)
        own = math.inf
        if kinds[k] in ("break", "reception", "start"):
            own = start_k
        elif windows[k]:
            own = max((e * 60 for s, e in windows[k] if s * 60 <= start_k <= e * 60), default=start_k)
        latest[k] = min(bound, own)
    return latest


def plan_day(city: Any, *, start: tuple[float, float], end: tuple[float, float] | None = None,
             visits: list[Visit], shift: Shift, mode: TravelMode = "walk",
             post: tuple[float, float] | None = None, max_snap_m: float | None = 500.0,
             exploration: int | None = None, threads: int | None = None,
             polish_s: float | None = None, seed: int = 1) -> DayPlan:
    """Plan one day's route.

    Parameters
    ----------
    city
        A loaded `CityBundle`.
    start, end
        ``(lat, lon)`` where the day starts and ends (usually the post; ``end`` defaults
        to ``start``).
    visits
        At most `MAX_VISITS`.
    shift
        Working hours, fixed breaks and the reception block at the post.
    mode
        ``walk``, ``drive`` or ``drive_walk``.
    post
        Where the reception is held (defaults to ``start``).
    max_snap_m
        Visits farther than this from any road are left out with the reason (None keeps them
        with a warning only).
    exploration, threads
        VROOM exploration level (1-5) and threads; None takes the measured defaults
        (`_VROOM_EXPLORATION`, `_VROOM_THREADS`, see ``benchmarks/bench_routes.py``).
    polish_s, seed
        Time budget (seconds, 0 turns it off; None gives it what is left of `DAY_BUDGET_S`,
        at least `POLISH_MIN_S`) and random seed of the PyVRP polish of VROOM's tour
        (`geo_service.routes.polish.polish_tour`).

    Raises
    ------
    InputError
        For more than 500 visits, a window that ends before it starts, an unknown mode,
        breaks outside the shift, or a reception that cannot be held.
    """
    t0 = time.perf_counter()
    end = start if end is None else end
    post = start if post is None else post
    validate(visits, shift, mode)
    exploration = _VROOM_EXPLORATION if exploration is None else int(exploration)
    threads = _VROOM_THREADS if threads is None else int(threads)
    if not (1 <= exploration <= 5 and 1 <= threads <= 8):
        msg = "exploration must be 1-5 and threads 1-8"
        raise InputError(msg)
    if polish_s is not None and not (0 <= float(polish_s) <= 10):
        msg = "polish_s must be 0-10 seconds"
        raise InputError(msg)
    for name, pt in (("start", start), ("end", end), ("post", post)):
        if len(pt) != 2 or not all(math.isfinite(float(x)) for x in pt):
            msg = f"{name} must be (lat, lon)"
            raise InputError(msg)
    fixed_pts = [tuple(map(float, start)), tuple(map(float, end)), tuple(map(float, post))]
    lat = np.array([p[0] for p in fixed_pts] + [v.lat for v in visits], dtype=np.float64)
    lon = np.array([p[1] for p in fixed_pts] + [v.lon for v in visits], dtype=np.float64)
    if mode == "drive_walk":
        net, snap, _ = _drive_walk_network(city, lat, lon, fixed=3)
    else:
        net, snap = _single_network(city, mode, lat, lon)
    t_matrix = time.perf_counter() - t0
    times = net.times
    times_s = np.where(np.isfinite(times), np.rint(times), _UNREACHABLE).astype(np.int64)
    warnings: list[str] = []
    snap_m = {"start": float(snap[0]), "end": float(snap[1]), "post": float(snap[2])}
    for name in ("start", "end", "post"):
        if max_snap_m is not None and snap_m[name] > max_snap_m:
            warnings.append(f"the {name} point is {snap_m[name]:.0f} m from the nearest road")
    vehicle_end = shift.end_min * 60
    if shift.reception is not None:
        rs, re_ = shift.reception
        vehicle_end = max(vehicle_end, re_ * 60 + int(times_s[2, 1]))
    p = _Problem(times_s=times_s, start_loc=0, end_loc=1, post_loc=2, shift=shift, vehicle_end_s=vehicle_end,
                 visits=visits, loc_of=[3 + i for i in range(len(visits))])
    unassigned: list[Unassigned] = []
    candidates: list[int] = []
    for i, v in enumerate(visits):
        d = float(snap[3 + i])
        snap_m[v.id] = d
        if max_snap_m is not None and d > max_snap_m:
            unassigned.append(Unassigned(v.id, v.label, v.priority,
                                         f"more than {max_snap_m:.0f} m from any road (nearest {d:.0f} m)",
                                         "no_road"))
            warnings.append(f"visit {v.id} is {d:.0f} m from the nearest road")
            continue
        why = _lone_check(p, i)
        if why:
            unassigned.append(Unassigned(v.id, v.label, v.priority, why[1], why[0]))
            continue
        candidates.append(i)
    sol, facts = solve_with_priorities(p, candidates, exploration=exploration, threads=threads)
    budget = max(POLISH_MIN_S, DAY_BUDGET_S - (time.perf_counter() - t0)) if polish_s is None else float(polish_s)
    from geo_service.routes.polish import polish_tour

    sol, polished = polish_tour(p, sol, candidates, seconds=budget, seed=seed, threads=threads)
    facts.update(polished)
    if polished["polish"] == "improved":
        facts["engine"] = "vroom+pyvrp"
    kept = _kept(sol)
    max_kept = max((visits[i].priority for i in kept), default=0)
    for i in candidates:
        if i in kept:
            continue
        v = visits[i]
        if any(visits[j].priority >= v.priority for j in kept):
            reason = ("does not fit in the shift together with visits of the same or higher priority "
                      "(travel, time windows, breaks)")
            code = "capacity"
        else:
            reason = "lower priority than visits that fill the shift"
            code = "priority"
        if max_kept and v.priority < max_kept:
            reason = "cannot be fitted around the higher-priority visits and fixed blocks of the day"
            code = "capacity"
        unassigned.append(Unassigned(v.id, v.label, v.priority, reason, code))
    # Build stops, legs and slack from the route.
    steps = sol["routes"][0]["steps"] if sol.get("routes") else []
    stops: list[Stop] = []
    legs: list[Leg] = []
    kinds: list[str] = []
    windows: list[list[tuple[int, int]]] = []
    loc_of_stop: list[int] = []
    if not steps:  # nothing to do: start and end only
        s0 = shift.start_min * 60
        steps = [{"type": "start", "location_index": 0, "arrival": s0, "service": 0, "waiting_time": 0},
                 {"type": "end", "location_index": 1, "arrival": s0 + int(times_s[0, 1]), "service": 0,
                  "waiting_time": 0}]
    last_loc = 0
    for st in steps:
        typ = st["type"]
        if typ == "job" and int(st["id"]) == _RECEPTION_ID:
            kind = "reception"
        elif typ == "job":
            kind = "visit"
        else:
            kind = typ
        loc = int(st["location_index"]) if "location_index" in st else last_loc
        kinds.append(kind)
        loc_of_stop.append(loc)
        windows.append(visits[int(st["id"])].time_windows if kind == "visit" else [])
        last_loc = loc
    latest = _latest_starts(steps, p, kinds, windows)
    for k, st in enumerate(steps):
        kind, loc = kinds[k], loc_of_stop[k]
        arrival = st["arrival"] / 60
        begin = (st["arrival"] + st.get("waiting_time", 0)) / 60
        dep = begin + st.get("service", 0) / 60
        slack = max(0.0, (latest[k] / 60) - begin) if kind in ("visit", "end") else 0.0
        if kind == "end":
            slack = max(0.0, p.vehicle_end_s / 60 - arrival)
        stop = Stop(kind=kind, lat=float(lat[loc]), lon=float(lon[loc]), arrival_min=arrival, start_min=begin,
                    departure_min=dep, slack_min=slack, snap_m=float(snap[loc]))
        if kind == "visit":
            v = visits[int(st["id"])]
            stop.visit_id, stop.label, stop.priority, stop.time_windows = v.id, v.label, v.priority, v.time_windows
        elif kind == "reception":
            stop.label = "reception at the post"
        elif kind == "break":
            stop.label = "break"
        stops.append(stop)
    prev = 0
    for k in range(1, len(stops)):
        if kinds[k] == "break":
            continue
        a, b = loc_of_stop[prev], loc_of_stop[k]
        segs = net.legs(a, b) if a != b else [Segment(mode if mode != "drive_walk" else "walk", 0.0, 0.0,
                                                       [(float(lon[a]), float(lat[a]))] * 2)]
        legs.append(Leg(from_stop=prev, to_stop=k, time_s=float(times_s[a, b]),
                        length_m=sum(s.length_m for s in segs), segments=segs))
        prev = k
    facts.update({"matrix_s": round(t_matrix, 4), "total_s": round(time.perf_counter() - t0, 4)})
    plan = DayPlan(mode=mode, shift=shift, stops=stops, legs=legs, unassigned=unassigned, warnings=warnings,
                   snap_m=snap_m, solver=facts)
    logger.info("day plan: %d visits kept, %d left out, mode %s, %.3f s", len(kept), len(unassigned), mode,
                facts["total_s"])
    return plan


# -- patrol fill ---------------------------------------------------------------------------------

def patrol_loop(city: Any, *, post: tuple[float, float], minutes: float,
                hotspots: list[tuple[float, float]] | None = None, precinct_geometry: Any = None,
                mode: Literal["walk", "drive"] = "walk", max_points: int = 60, seed: int = 0
                ) -> dict[str, Any]:
    """A patrol loop from the post through the precinct's streets, back to the post.

    Street points are sampled evenly over the precinct (one per grid cell among the road
    nodes inside ``precinct_geometry``, or within reach of the post when it is None), each
    weighted by its closeness to the hotspots; VROOM then picks the loop that collects the
    most weight within ``minutes`` (a prize-collecting tour with a travel-time limit).

    Returns
    -------
    dict
        ``time_s``, ``length_m``, ``minutes``, ``waypoints`` ([lat, lon] in order),
        ``hotspots_visited``, ``geometry`` (GeoJSON LineString, [lon, lat]).
    """
    import vroom

    if mode not in ("walk", "drive"):
        msg = f"patrol mode must be walk or drive, not {mode!r}"
        raise InputError(msg)
    if not (0 < minutes <= 1440):
        msg = "patrol minutes must be between 0 and 1440"
        raise InputError(msg)
    graph = city.graph(mode)
    post_node, post_d = graph.snap_many(np.array([post[0]]), np.array([post[1]]))
    post_node = int(post_node[0])
    budget = minutes * 60
    if precinct_geometry is not None:
        import shapely

        inside = shapely.contains_xy(precinct_geometry, graph.lon, graph.lat)
        cand = np.flatnonzero(inside)
    else:
        from scipy.sparse.csgraph import dijkstra

        reach = dijkstra(graph.csr(), indices=post_node, limit=budget / 2)
        cand = np.flatnonzero(np.isfinite(reach))
    if len(cand) == 0:
        cand = np.array([post_node])
    # Even sampling: one node per cell of a grid sized to give about max_points cells.
    kx, ky = math.cos(math.radians(float(graph.lat[post_node]))) * 111_320.0, 110_540.0
    x, y = graph.lon[cand] * kx, graph.lat[cand] * ky
    area = max((x.max() - x.min()) * (y.max() - y.min()), 1.0)
    cell = max(math.sqrt(area / max_points), 50.0)
    keys = np.floor((x - x.min()) / cell).astype(np.int64) * 1_000_003 + np.floor((y - y.min()) / cell).astype(np.int64)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(cand))
    _, first = np.unique(keys[order], return_index=True)
    pts = cand[order[first]]
    weights = np.full(len(pts), 10.0)
    hs_nodes = np.zeros(0, dtype=np.int64)
    if hotspots:
        hlat = np.array([h[0] for h in hotspots], dtype=np.float64)
        hlon = np.array([h[1] for h in hotspots], dtype=np.float64)
        hs_nodes, _ = graph.snap_many(hlat, hlon)
        px, py = graph.lon[pts] * kx, graph.lat[pts] * ky
        d = np.hypot(px[:, None] - hlon[None, :] * kx, py[:, None] - hlat[None, :] * ky).min(axis=1)
        weights = 5.0 + 60.0 * np.exp(-d / 300.0)
        pts = np.concatenate([pts, hs_nodes])
        weights = np.concatenate([weights, np.full(len(hs_nodes), 100.0)])
    locs = np.concatenate([[post_node], pts])
    uniq, inv = np.unique(locs, return_inverse=True)
    m = graph.matrix(uniq, uniq)[np.ix_(inv, inv)]
    m = np.where(np.isfinite(m), np.rint(m), _UNREACHABLE).astype(np.int64)
    inp = vroom.Input()
    inp.set_durations_matrix("car", m)
    inp.add_vehicle(vroom.Vehicle(1, start=0, end=0, max_travel_time=int(budget)))
    inp.add_job([vroom.Job(k + 1, location=k + 1, priority=int(min(100, round(w))))
                 for k, w in enumerate(weights)])
    sol = inp.solve(exploration_level=3, nb_threads=1).to_dict()
    seq = [int(s["location_index"]) for s in sol["routes"][0]["steps"]] if sol.get("routes") else [0, 0]
    coords: list[tuple[float, float]] = [(float(post[1]), float(post[0]))]
    total_t = total_len = 0.0
    for a, b in zip(seq, seq[1:]):
        seg = _segment(graph, mode, int(locs[a]), int(locs[b]))
        coords.extend(seg.coords)
        total_t += seg.time_s
        total_len += seg.length_m
    coords.append((float(post[1]), float(post[0])))
    visited = {int(locs[i]) for i in seq}
    return {
        "mode": mode, "minutes": round(total_t / 60, 1), "time_s": round(total_t, 1),
        "length_m": round(total_len, 1), "budget_min": minutes,
        "waypoints": [[round(float(graph.lat[locs[i]]), 7), round(float(graph.lon[locs[i]]), 7)] for i in seq],
        "hotspots_visited": int(sum(1 for h in hs_nodes if int(h) in visited)),
        "hotspots": len(hs_nodes), "post_snap_m": round(float(post_d[0]), 1),
        "geometry": {"type": "LineString", "coordinates": [[round(a, 7), round(b, 7)] for a, b in coords]},
    }


# -- exports -------------------------------------------------------------------------------------

def to_gpx(plan: DayPlan, *, name: str = "Route", date: str | None = None) -> str:
    """GPX 1.1: one ``wpt`` per stop (name = order and the caller's label) and one ``trk``
    with a segment per leg. Nothing personal beyond the caller's labels."""
    def when(minutes: float) -> str:
        if not date:
            return ""
        m = int(round(minutes))
        day = date
        if m >= 1440:
            import datetime as dt

            day = (dt.date.fromisoformat(date) + dt.timedelta(days=m // 1440)).isoformat()
            m %= 1440
        return f"<time>{day}T{m // 60:02d}:{m % 60:02d}:00</time>"

    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<gpx version="1.1" creator="geo-service" xmlns="http://www.topografix.com/GPX/1/1" '
           'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
           'xsi:schemaLocation="http://www.topografix.com/GPX/1/1 http://www.topografix.com/GPX/1/1/gpx.xsd">',
           f"<metadata><name>{xml_escape(name)}</name></metadata>"]
    for k, s in enumerate(plan.stops):
        if s.kind == "break":
            continue
        label = s.label or {"start": "Start", "end": "End"}.get(s.kind, s.kind)
        desc = f"{s.kind}; arrive {hhmm(s.arrival_min)}, start {hhmm(s.start_min)}, leave {hhmm(s.departure_min)}"
        out.append(f'<wpt lat="{s.lat:.7f}" lon="{s.lon:.7f}">{when(s.start_min)}'
                   f"<name>{xml_escape(f'{k}. {label}')}</name><desc>{xml_escape(desc)}</desc>"
                   f"<type>{xml_escape(s.kind)}</type></wpt>")
    out.append(f"<trk><name>{xml_escape(name)}</name>")
    for leg in plan.legs:
        pts = leg.geometry()["coordinates"]
        out.append("<trkseg>" + "".join(f'<trkpt lat="{la:.7f}" lon="{lo:.7f}"/>' for lo, la in pts)
                   + "</trkseg>")
    out.append("</trk></gpx>")
    return "\n".join(out) + "\n"


_SHEET_CSS = """
body{font-family:system-ui,Arial,sans-serif;margin:1.5em;color:#000}
h1{font-size:1.3em;margin:0 0 .3em}
p.meta{margin:.2em 0 .8em;color:#333}
table{border-collapse:collapse;width:100%;font-size:.92em}
th,td{border:1px solid #777;padding:.25em .4em;text-align:left;vertical-align:top}
th{background:#eee}
td.num{text-align:right;white-space:nowrap}
tr.break td,tr.reception td{background:#f4f4f4;font-style:italic}
td.note{width:22%}
@media print{
 @page{size:A4 portrait;margin:12mm}
 body{margin:0;font-size:10pt}
 th{background:#ddd !important;-webkit-print-color-adjust:exact;print-color-adjust:exact}
 tr{page-break-inside:avoid}
 .noprint{display:none}
}
"""


def to_sheet_html(plan: DayPlan, *, title: str, date: str | None = None) -> str:
    """A printable one-page route sheet (standalone HTML with print CSS); labels are escaped."""
    e = html.escape
    t = plan.totals()
    rows = []
    n = 0
    for s in plan.stops:
        if s.kind == "visit":
            n += 1
            num = str(n)
        else:
            num = ""
        what = {"start": "Start", "end": "End", "break": "Break", "reception": "Reception at the post"}.get(
            s.kind, s.label)
        prio = PRIORITY_CLASSES.get(s.priority or 0, "")
        win = ", ".join(f"{hhmm(a)}-{hhmm(b)}" for a, b in s.time_windows)
        rows.append(
            f'<tr class="{e(s.kind)}"><td class="num">{num}</td><td>{e(what)}</td><td>{e(prio)}</td>'
            f'<td class="num">{hhmm(s.arrival_min)}</td><td class="num">{hhmm(s.start_min)}</td>'
            f'<td class="num">{hhmm(s.departure_min)}</td><td class="num">{e(win)}</td>'
            f'<td class="num">{s.lat:.5f}, {s.lon:.5f}</td><td class="note"></td></tr>')
    left = "".join(f"<li>{e(u.label or u.visit_id)}: {e(u.reason)}</li>" for u in plan.unassigned)
    left_html = f"<h2>Not in today's route</h2><ul>{left}</ul>" if left else ""
    sub = (f"{e(date) + ' · ' if date else ''}shift {hhmm(plan.shift.start_min)}-{hhmm(plan.shift.end_min)} · "
           f"{e(plan.mode)} · {t['visits']} visits · travel {t['travel_min']:.0f} min · "
           f"on site {t['service_min']:.0f} min · waiting {t['idle_min']:.0f} min · {t['length_m'] / 1000:.1f} km")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{e(title)}</title>"
            f"<style>{_SHEET_CSS}</style></head><body>"
            f"<h1>{e(title)}</h1><p class=\"meta\">{sub}</p>"
            "<table><thead><tr><th>#</th><th>Visit</th><th>Kind</th><th>Arrive</th><th>Start</th>"
            "<th>Leave</th><th>Window</th><th>Location</th><th>Notes</th></tr></thead><tbody>"
            + "".join(rows) + f"</tbody></table>{left_html}</body></html>\n")


__all__ = ["Visit", "Shift", "Stop", "Leg", "Segment", "Unassigned", "DayPlan", "plan_day", "patrol_loop",
           "to_gpx", "to_sheet_html", "validate", "hhmm", "MAX_VISITS", "PRIORITY_CLASSES", "TRAVEL_MODES"]
