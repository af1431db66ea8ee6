"""Workload per precinct and per inspector: indicators and a workload index.

`indicators` gives one row per precinct of the loaded city:

* ``residents`` — estimated residents (`geo_service.siting.demand.estimate_demand`, or a
  `Demand` the caller gives) whose point lies in the precinct polygon;
* ``addresses``, ``buildings`` — address points and building footprints (by their
  point on surface) in the precinct;
* ``area_km2`` (in the city's UTM zone) and ``road_km`` (walkable road length whose
  midpoint lies in the precinct, each street segment counted once);
* ``walk_mean_min``, ``walk_p90_min``, ``drive_mean_min``, ``drive_p90_min`` — travel
  time from the precinct's post to its residents, weighted by residents: one
  multi-source Dijkstra per mode (scipy, all posts at once) on the road graph, each
  demand point snapped to its nearest node; the walk from the point to that node is
  added at walking speed in both modes (getting on and off the road is on foot);
* ``appeals``, ``visits`` — counts in ``period`` when the caller gives them; a record whose
  time is impossible (outside 2000-2100, or in the future) is never counted, and
  ``frame.attrs["ignored_times"]`` says how many were left out;
* ``inspectors`` (roster rows of the precinct), ``workload_index`` and
  ``workload_per_inspector``.

The workload index
------------------
Each component ``k`` (residents, area, road length, mean travel time, appeals,
visits) is divided by its mean over the city's precincts, so 1.0 is the average
precinct; the index is the weighted mean of these ratios with the weights of
`WorkloadWeights` (renormalised over the components that are available: without
appeal records the appeals weight is dropped). The mean of ``workload_index`` over
the precincts is therefore exactly 1.0. ``workload_per_inspector`` divides the index
by the precinct's inspectors (a precinct with none counts as one) and scales it so
1.0 is the average inspector of the city.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import shapely

from geo_service import clock
from geo_service.errors import InputError
from geo_service.exports import safe_frame
from geo_service.lookup.service import Lookup
from geo_service.network.geodesy import to_utm, utm_crs
from geo_service.siting.demand import estimate_demand

if TYPE_CHECKING:
    from geo_service.bundle import CityBundle
    from geo_service.siting.demand import Demand

logger = logging.getLogger(__name__)

#: Walking speed (km/h) for the way from a point to the nearest road node.
ACCESS_WALK_KPH = 4.8

COMPONENTS = ("residents", "area", "road", "travel", "appeals", "visits")


@dataclass(frozen=True)
class WorkloadWeights:
    """Weights of the workload index (any non-negative numbers; they are renormalised).

    Attributes
    ----------
    residents
        Estimated residents (the main driver: people who call, are visited, appeal).
    area
        Territory in km² (a large precinct costs time even when few live there).
    road
        Road length in km (patrolling, the street network to know).
    travel
        Residents-weighted mean travel time from the post (``travel_mode``), in minutes.
    appeals
        Appeals received in the period (only when appeal records are given).
    visits
        Visits made or due in the period (only when visit records are given).
    travel_mode
        ``walk`` (city inspectors) or ``drive`` (rural precincts).
    """

    residents: float = 0.4
    area: float = 0.1
    road: float = 0.1
    travel: float = 0.15
    appeals: float = 0.25
    visits: float = 0.0
    travel_mode: Literal["walk", "drive"] = "walk"

    def __post_init__(self) -> None:
        for k in COMPONENTS:
            v = getattr(self, k)
            if not isinstance(v, (int, float)) or not np.isfinite(v) or v < 0:
                msg = f"workload weight {k} must be a non-negative number (got {v!r})"
                raise InputError(msg)
        if self.travel_mode not in ("walk", "drive"):
            msg = f"travel_mode must be walk or drive (got {self.travel_mode!r})"
            raise InputError(msg)
        if sum(getattr(self, k) for k in COMPONENTS) <= 0:
            msg = "at least one workload weight must be positive"
            raise InputError(msg)

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> WorkloadWeights:
        """Weights from a request's mapping; unknown keys are an `InputError`."""
        unknown = set(values) - {*COMPONENTS, "travel_mode"}
        if unknown:
            msg = f"unknown workload weight(s): {', '.join(sorted(unknown))}; known: {', '.join(COMPONENTS)}"
            raise InputError(msg)
        out: dict[str, Any] = {}
        for k, v in values.items():
            if k == "travel_mode":
                out[k] = str(v)
                continue
            try:
                out[k] = float(v)
            except (TypeError, ValueError) as exc:
                msg = f"workload weight {k} must be a number (got {v!r})"
                raise InputError(msg) from exc
        return cls(**out)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


#: Column of each index component in the indicators table.
COMPONENT_COLUMN = {"residents": "residents", "area": "area_km2", "road": "road_km",
                    "appeals": "appeals", "visits": "visits"}


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The ``q`` quantile (0-1) of ``values`` weighted by ``weights`` (NaN when empty)."""
    ok = np.isfinite(values) & (weights > 0)
    v, w = values[ok], weights[ok]
    if len(v) == 0:
        return float("nan")
    order = np.argsort(v, kind="stable")
    v, w = v[order], w[order]
    cw = np.cumsum(w)
    k = int(np.searchsorted(cw, q * cw[-1], side="left"))
    return float(v[min(k, len(v) - 1)])


def _lookup(city: CityBundle) -> Lookup:
    return city.cached("lookup", lambda: Lookup(city))


def post_points(city: CityBundle) -> tuple[np.ndarray, np.ndarray]:
    """Latitude and longitude of each precinct's post (NaN when it has none).

    The post is the precinct's ``post_id`` in the posts table; failing that a post whose
    ``precinct_id`` is the precinct; failing that the roster's ``post_lat/post_lon``.
    """
    prec = city.precincts
    lat = np.full(len(prec), np.nan)
    lon = np.full(len(prec), np.nan)
    posts = city.posts
    by_id = {str(r.post_id): (float(r.lat), float(r.lon)) for r in posts.itertuples(index=False)}
    by_prec: dict[str, tuple[float, float]] = {}
    for r in posts.itertuples(index=False):
        by_prec.setdefault(str(r.precinct_id), (float(r.lat), float(r.lon)))
    for r in city.roster.itertuples(index=False):
        try:
            plat, plon = float(r.post_lat), float(r.post_lon)
        except (TypeError, ValueError):
            continue
        if np.isfinite(plat) and np.isfinite(plon):
            by_prec.setdefault(str(r.precinct_id), (plat, plon))
    for i, r in enumerate(prec.itertuples(index=False)):
        pid = str(getattr(r, "post_id", "") or "")
        hit = by_id.get(pid) if pid else None
        hit = hit or by_prec.get(str(r.precinct_id))
        if hit:
            lat[i], lon[i] = hit
    return lat, lon


def _travel(city: CityBundle, mode: str, label: np.ndarray, lat: np.ndarray, lon: np.ndarray,
            post_lat: np.ndarray, post_lon: np.ndarray) -> np.ndarray:
    """Seconds from each point's precinct post to the point (NaN: no post or unreachable)."""
    graph = city.graph(mode)
    out = np.full(len(lat), np.nan)
    has_post = np.isfinite(post_lat)
    if not has_post.any() or len(lat) == 0:
        return out
    post_nodes, post_snap = graph.snap_many(post_lat[has_post], post_lon[has_post])
    uniq, inv = np.unique(post_nodes, return_inverse=True)
    from scipy.sparse.csgraph import dijkstra  # noqa: PLC0415 - scipy loaded on first use (start-up time)

    dist = dijkstra(graph.csr(), indices=uniq)  # (unique posts, nodes) seconds
    row_of_precinct = np.full(len(post_lat), -1, dtype=np.int64)
    row_of_precinct[np.flatnonzero(has_post)] = inv
    snap_extra = np.zeros(len(post_lat))
    snap_extra[np.flatnonzero(has_post)] = post_snap / (ACCESS_WALK_KPH / 3.6)
    nodes, snap_d = graph.snap_many(lat, lon)
    ok = label >= 0
    ok[ok] = row_of_precinct[label[ok]] >= 0
    rows = row_of_precinct[label[ok]]
    t = dist[rows, nodes[ok]] + snap_d[ok] / (ACCESS_WALK_KPH / 3.6) + snap_extra[label[ok]]
    t[~np.isfinite(t)] = np.nan
    out[ok] = t
    return out


def _building_points(city: CityBundle) -> tuple[np.ndarray, np.ndarray]:
    b = city.buildings()
    if not len(b):
        return np.zeros(0), np.zeros(0)
    pts = shapely.point_on_surface(np.asarray(b["geometry"].to_numpy(), dtype=object))
    return shapely.get_y(pts), shapely.get_x(pts)


def default_demand(city: CityBundle) -> Demand:
    """Residents from buildings and addresses, estimated once per loaded city."""
    return city.cached("demand:buildings+addresses", lambda: estimate_demand(city))


def _base(city: CityBundle, demand: Demand, lookup: Lookup, buildings: tuple[np.ndarray, np.ndarray]
          ) -> pd.DataFrame:
    """Everything of `indicators` that depends on the city and the demand only.

    (Called inside ``city.cached``, whose lock is not re-entrant: it must not call
    ``city.cached`` itself.)
    """
    prec = city.precincts
    n = len(prec)
    d_lab, _ = lookup.locate_many(demand.lat, demand.lon)
    inside = d_lab >= 0
    residents = np.bincount(d_lab[inside], weights=demand.weight[inside], minlength=n)

    a = city.addresses
    a_lab, _ = lookup.locate_many(a["lat"].to_numpy(dtype=np.float64), a["lon"].to_numpy(dtype=np.float64))
    addresses = np.bincount(a_lab[a_lab >= 0], minlength=n)

    b_lat, b_lon = buildings
    b_lab, _ = lookup.locate_many(b_lat, b_lon)
    n_buildings = np.bincount(b_lab[b_lab >= 0], minlength=n)

    minlon, minlat, maxlon, maxlat = city.manifest["bbox"]
    crs = utm_crs((minlon + maxlon) / 2, (minlat + maxlat) / 2)
    geoms = np.asarray(prec.geometry.to_numpy(), dtype=object)
    area_km2 = shapely.area(to_utm(geoms, crs)) / 1e6

    g = city.walk
    lo, hi = np.minimum(g.tail, g.head), np.maximum(g.tail, g.head)
    _, first = np.unique(lo.astype(np.int64) * g.n_nodes + hi, return_index=True)
    mid_lat = (g.lat[g.tail[first]] + g.lat[g.head[first]]) / 2
    mid_lon = (g.lon[g.tail[first]] + g.lon[g.head[first]]) / 2
    e_lab, _ = lookup.locate_many(mid_lat, mid_lon)
    road_km = np.bincount(e_lab[e_lab >= 0], weights=g.length_m[first][e_lab >= 0], minlength=n) / 1000

    frame = pd.DataFrame({
        "precinct_id": prec.precinct_id.astype(str).to_numpy(),
        "name": prec.name.astype(str).to_numpy(),
        "residents": residents, "addresses": addresses, "buildings": n_buildings,
        "area_km2": area_km2, "road_km": road_km,
    })
    p_lat, p_lon = post_points(city)
    w = demand.weight
    for mode in ("walk", "drive"):
        t = _travel(city, mode, d_lab, demand.lat, demand.lon, p_lat, p_lon) / 60.0
        mean = np.full(n, np.nan)
        p90 = np.full(n, np.nan)
        ok = inside & np.isfinite(t)
        lab_ok, t_ok, w_ok = d_lab[ok], t[ok], w[ok]
        sw = np.bincount(lab_ok, weights=w_ok, minlength=n)
        swt = np.bincount(lab_ok, weights=w_ok * t_ok, minlength=n)
        has = sw > 0
        mean[has] = swt[has] / sw[has]
        order = np.argsort(lab_ok, kind="stable")
        bounds = np.searchsorted(lab_ok[order], np.arange(n + 1))
        for i in np.flatnonzero(has):
            sel = order[bounds[i]:bounds[i + 1]]
            p90[i] = weighted_quantile(t_ok[sel], w_ok[sel], 0.9)
        frame[f"{mode}_mean_min"] = mean
        frame[f"{mode}_p90_min"] = p90
    frame["no_post"] = ~np.isfinite(p_lat)
    return frame


def _period_bounds(period: tuple[Any, Any] | None) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    if period is None:
        return None, None
    try:
        start, end = period
    except (TypeError, ValueError) as exc:
        msg = "period must be a (start, end) pair of dates"
        raise InputError(msg) from exc

    def ts(v: Any) -> pd.Timestamp | None:
        if v is None:
            return None
        try:
            t = pd.Timestamp(v)
        except (TypeError, ValueError) as exc:
            msg = f"not a date: {v!r}"
            raise InputError(msg) from exc
        return t.tz_convert("UTC") if t.tzinfo is not None else t.tz_localize("UTC")

    s, e = ts(start), ts(end)
    if s is not None and e is not None and e < s:
        msg = "the period ends before it starts"
        raise InputError(msg)
    return s, e


def implausible_times(records: pd.DataFrame, time_columns: tuple[str, ...]) -> np.ndarray:
    """Which records carry a time (the first of ``time_columns`` present) that no record may
    have: outside 2000-01-01..2100-12-31, or more than `clock.CLOCK_SKEW` ahead of now (a visit
    marked made in year 1, an appeal received years ahead). Such a record is never counted."""
    col = next((c for c in time_columns if c in records.columns), None)
    if col is None or len(records) == 0:
        return np.zeros(len(records), dtype=bool)
    raw = records[col]
    t = pd.to_datetime(raw, errors="coerce", utc=True, format="ISO8601")
    lo = pd.Timestamp(clock.FIRST_DAY.isoformat(), tz="UTC")
    hi = min(pd.Timestamp(clock.now() + clock.CLOCK_SKEW),
             pd.Timestamp((clock.LAST_DAY + dt.timedelta(days=1)).isoformat(), tz="UTC"))
    given = raw.notna().to_numpy()
    ok = (t.notna() & (t >= lo) & (t <= hi)).to_numpy()
    return np.asarray(given & ~ok, dtype=bool)


def count_by_precinct(records: pd.DataFrame | None, city: CityBundle, *, time_columns: tuple[str, ...],
                      period: tuple[Any, Any] | None = None) -> np.ndarray | None:
    """Records per precinct (in ``city.precincts`` order) within ``period`` [start, end).

    ``records`` has a ``precinct_id`` column, or ``lat``/``lon`` (located with the
    lookup index); the first of ``time_columns`` present is the record's time (a record
    without a time is kept only when no period is given; one with an impossible time,
    `implausible_times`, never is). Counts already grouped by the
    database (a ``count`` column per ``precinct_id``) are taken as they are when their
    ``attrs['period']`` is the period asked for.
    """
    if records is None:
        return None
    n = len(city.precincts)
    if len(records) == 0:
        return np.zeros(n)
    rec = records
    start, end = _period_bounds(period)
    grouped = "count" in rec.columns
    if not grouped:
        rec = rec[~implausible_times(rec, time_columns)]
    if grouped:
        if _period_bounds(rec.attrs.get("period")) != (start, end):
            msg = "counts grouped for another period than the one asked for"
            raise InputError(msg)
    elif start is not None or end is not None:
        col = next((c for c in time_columns if c in rec.columns), None)
        if col is None:
            msg = f"the records need one of the columns {', '.join(time_columns)} to filter by period"
            raise InputError(msg)
        t = pd.to_datetime(rec[col], errors="coerce", utc=True)
        keep = np.array(t.notna().to_numpy(), dtype=bool)
        if start is not None:
            keep &= (t >= start).to_numpy()
        if end is not None:
            keep &= (t < end).to_numpy()
        rec = rec[keep]
    if "precinct_id" in rec.columns:
        index = {p: i for i, p in enumerate(city.precincts.precinct_id.astype(str))}
        lab = np.array([index.get(str(p), -1) for p in rec["precinct_id"]], dtype=np.int64)
    elif {"lat", "lon"} <= set(rec.columns) and not grouped:
        lab, _ = _lookup(city).locate_many(pd.to_numeric(rec["lat"], errors="coerce").to_numpy(dtype=np.float64),
                                           pd.to_numeric(rec["lon"], errors="coerce").to_numpy(dtype=np.float64))
    else:
        msg = "the records need a precinct_id column or lat and lon columns"
        raise InputError(msg)
    w = (pd.to_numeric(rec["count"], errors="coerce").fillna(0).to_numpy(dtype=np.float64) if grouped
         else np.ones(len(lab)))
    return np.bincount(lab[lab >= 0], weights=w[lab >= 0], minlength=n)


def workload_index(frame: pd.DataFrame, weights: WorkloadWeights) -> tuple[np.ndarray, dict[str, float]]:
    """The index of each row and the weights actually used (renormalised to sum 1).

    A component is used when its weight is positive, its column exists and its mean over
    the rows is positive; missing values (a precinct without a post) count as the mean.
    """
    used: dict[str, float] = {}
    parts: list[np.ndarray] = []
    for k in COMPONENTS:
        w = float(getattr(weights, k))
        col = f"{weights.travel_mode}_mean_min" if k == "travel" else COMPONENT_COLUMN[k]
        if w <= 0 or col not in frame.columns:
            continue
        x = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=np.float64)
        mean = float(np.nanmean(x)) if np.isfinite(x).any() else 0.0
        if mean <= 0:
            continue
        ratio = np.where(np.isfinite(x), x / mean, 1.0)
        used[k] = w
        parts.append(w * ratio)
    if not used:
        return np.ones(len(frame)), {}
    total = sum(used.values())
    index = np.sum(parts, axis=0) / total
    return index, {k: v / total for k, v in used.items()}


def indicators(city: CityBundle, *, weights: WorkloadWeights | None = None, demand: Demand | None = None,
               appeals: pd.DataFrame | None = None, visits: pd.DataFrame | None = None,
               period: tuple[Any, Any] | None = None) -> pd.DataFrame:
    """Workload indicators, one row per precinct (see the module docstring).

    Parameters
    ----------
    city
        A loaded bundle.
    weights
        Weights of the workload index (`WorkloadWeights`).
    demand
        Residents (default: `estimate_demand` on buildings and addresses, cached per city).
    appeals
        Appeal records: ``precinct_id`` or ``lat``/``lon``, and ``received_at`` (or ``at``).
    visits
        Visit records: ``precinct_id`` or ``lat``/``lon``, and ``done_at`` (or
        ``done_date``, ``due_date``, ``at``).
    period
        ``(start, end)``: count appeals and visits with start <= time < end (either may be None).

    Returns
    -------
    DataFrame
        The columns of the module docstring; ``frame.attrs["weights_used"]`` holds the
        renormalised weights of the index.
    """
    weights = weights or WorkloadWeights()
    lookup = _lookup(city)
    points = city.cached("workload:building_points", lambda: _building_points(city))
    if demand is None:
        dem = default_demand(city)
        base = city.cached("workload:base", lambda: _base(city, dem, lookup, points))
    else:
        base = _base(city, demand, lookup, points)
    frame = base.copy()
    app_cols, vis_cols = ("received_at", "at"), ("done_at", "done_date", "due_date", "at")
    n_app = count_by_precinct(appeals, city, time_columns=app_cols, period=period)
    n_vis = count_by_precinct(visits, city, time_columns=vis_cols, period=period)
    ignored: dict[str, int] = {}  # records left out for an impossible time (`implausible_times`, the store's)
    for name, rec, cols in (("appeals", appeals, app_cols), ("visits", visits, vis_cols)):
        if rec is not None:
            ignored[name] = int(rec.attrs.get("ignored_times", 0)) + (
                0 if "count" in rec.columns else int(implausible_times(rec, cols).sum()))
    frame.attrs["ignored_times"] = ignored
    if n_app is not None:
        frame["appeals"] = n_app.astype(np.int64)
    if n_vis is not None:
        frame["visits"] = n_vis.astype(np.int64)
    roster_counts = city.roster["precinct_id"].astype(str).value_counts()
    frame["inspectors"] = frame["precinct_id"].map(roster_counts).fillna(0).astype(np.int64).to_numpy()
    index, used = workload_index(frame, weights)
    frame["workload_index"] = index
    eff = np.maximum(frame["inspectors"].to_numpy(), 1)
    per = index / eff
    frame["workload_per_inspector"] = per / (index.sum() / eff.sum()) if index.sum() > 0 else per
    frame.attrs["weights_used"] = used
    frame.attrs["weights"] = weights.to_dict()
    return frame


def summary(frame: pd.DataFrame, column: str = "workload_per_inspector") -> dict[str, float]:
    """Imbalance of a column: max/min ratio, Gini coefficient, coefficient of variation."""
    x = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)
    x = x[np.isfinite(x)]
    return {"n": len(x), "max_min_ratio": max_min_ratio(x), "gini": gini(x),
            "cv": float(np.std(x) / np.mean(x)) if len(x) and np.mean(x) > 0 else float("nan")}


def gini(values: np.ndarray) -> float:
    """Gini coefficient of non-negative values (0: all equal)."""
    x = np.sort(np.asarray(values, dtype=np.float64))
    x = x[np.isfinite(x)]
    if len(x) == 0 or x.sum() <= 0:
        return float("nan")
    n = len(x)
    return float((2 * np.arange(1, n + 1) - n - 1) @ x / (n * x.sum()))


def max_min_ratio(values: np.ndarray) -> float:
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return float("nan")
    return float(x.max() / x.min()) if x.min() > 0 else float("inf")


CSV_FLOAT_DIGITS = 3


def to_csv(frame: pd.DataFrame, path: Path | str | None = None) -> str:
    """The indicators as CSV (UTF-8, comma, floats rounded); written to ``path`` when given.

    Text cells a spreadsheet would run as formulas are defused (`geo_service.exports`).
    """
    out = safe_frame(frame)
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]):
            out[c] = out[c].round(CSV_FLOAT_DIGITS)
    buf = io.StringIO()
    out.to_csv(buf, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    text = buf.getvalue()
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text


def default_period(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """Last calendar month: the period of the open reports."""
    today = today or clock.today()
    first = today.replace(day=1)
    prev = (first - dt.timedelta(days=1)).replace(day=1)
    return prev, first
