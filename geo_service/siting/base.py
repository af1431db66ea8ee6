"""Where to open new posts: coverage and median models over network travel time.

Four models, each a class with two doors (after spopt's ``locate`` package):

* `MCLP`: the most demand within ``T`` of an open post, with ``p`` new posts.
* `LSCP`: the fewest new posts that put every demand point within ``T``.
* `PMedian`: the least weighted mean travel time to the nearest open post, ``p`` new posts.
* `BackupCoverage`: demand within ``T`` of two open posts (a second post is a backup
  when the first is busy); it maximises ``sum w * (theta * [covered once] +
  (1 - theta) * [covered twice])``, ``theta = 0.5`` by default (BACOP2 after Hogan and
  ReVelle, 1986).

``Model.from_cost_matrix(matrix, weights, ...)`` takes demand rows x site columns in any
unit; ``Model.from_city(city, ...)`` estimates demand, picks candidates, snaps both to
the road graph and computes travel times itself. ``solve()`` returns the model;
``to_dict()`` gives the results a planner reads.

How it stays fast (each step is exact, nothing is approximated):

* demand points are aggregated by snapped road node (points on one node share every
  travel time, so the optimum is the same);
* coverage comes from Dijkstra bounded at ``T`` from each site (``scipy`` ``limit=``),
  on the forward graph when the post goes out to the residents, on the reversed graph
  when residents come to the post (the walking graph is symmetric);
* demand already covered by existing posts (fixed open) leaves the coverage models,
  demand no site can reach leaves MCLP, and identical coverage rows are merged;
  in the p-median a demand row keeps only the sites nearer than its nearest existing post;
* the model is built as sparse arrays straight into HiGHS (``highspy``), with the greedy
  solution as a warm start. The MIP gap HiGHS reports is returned; past
  ``max_mip_size`` non-zeros (or with ``method="heuristic"``) the greedy solution (with a
  swap pass for the p-median) is returned with its gap to the LP bound (the Lagrangian
  bound for the p-median).

Bad set-ups (``p`` above the number of candidates, ``T <= 0``, no candidate in the
region, an LSCP where some demand no candidate can reach) raise `InputError` before
solving.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
import scipy.sparse as sp

from geo_service.errors import InputError
from geo_service.siting.demand import Demand, DemandOptions, DemandSource, clip, estimate_demand, from_arrays
from geo_service.solvers.highs import relative_gap, run_highs

if TYPE_CHECKING:
    import shapely

    from geo_service.bundle import CityBundle
    from geo_service.network.graph import RoadGraph

logger = logging.getLogger(__name__)

Method = Literal["auto", "exact", "heuristic"]
Marginal = Literal["greedy_order", "resolve", "none"]
Direction = Literal["from_site", "to_site"]
CandidateKind = Literal["nodes", "buildings", "grid"]

#: Above this many constraint-matrix non-zeros, ``method="auto"`` uses the heuristic.
MAX_MIP_SIZE = 4_000_000
#: Demand or candidates farther than this from the road network are left out (reported).
MAX_SNAP_M = 500.0
#: Sources per bounded-Dijkstra batch are chosen so a batch's dense output stays under this.
DIJKSTRA_BATCH_CELLS = 8_000_000


# ----------------------------------------------------------------------------- data
@dataclass
class Sites:
    """Site columns: existing posts (fixed open) first, then candidates."""

    labels: list[str]
    fixed: np.ndarray  # bool (m,)
    lat: np.ndarray | None = None
    lon: np.ndarray | None = None
    node: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.labels)


@dataclass
class Points:
    """The original demand points behind the aggregated rows (``from_city`` only)."""

    lat: np.ndarray
    lon: np.ndarray
    weight: np.ndarray
    row: np.ndarray  # aggregated row of each point
    precinct: np.ndarray  # index into ``precincts`` or -1
    precincts: list[tuple[str, str]]  # (precinct_id, name)


@dataclass
class SiteInfo:
    """How the instance was built (for the report)."""

    demand_points: int = 0
    demand_rows: int = 0
    dropped_points: int = 0
    dropped_weight: float = 0.0
    candidates: int = 0
    existing: int = 0
    matrix_seconds: float = 0.0
    mode: str | None = None
    direction: str | None = None


@dataclass
class _Sol:
    y: np.ndarray  # bool (m,) open sites including fixed
    objective: float
    bound: float | None
    gap: float | None
    status: str
    method: str
    seconds: float


class _Model:
    """What the four models share: the instance, the checks, the report."""

    name: ClassVar[str] = ""
    needs_p: ClassVar[bool] = True
    needs_time: ClassVar[bool] = True
    sense: ClassVar[int] = -1  # -1 maximise, +1 minimise

    def __init__(self, weights: np.ndarray, sites: Sites, *, cover: sp.csr_matrix | None = None,
                 cost: np.ndarray | None = None, p: int | None = None, service_time: float | None = None,
                 points: Points | None = None, info: SiteInfo | None = None, time_limit: float = 60.0,
                 mip_gap: float = 1e-4, method: Method = "auto", max_mip_size: int = MAX_MIP_SIZE,
                 marginal: Marginal = "greedy_order", theta: float = 0.5) -> None:
        self.weights = np.asarray(weights, dtype=np.float64)
        self.sites = sites
        self.cover = cover
        self.cost = cost
        self.p = p
        self.service_time = service_time
        self.points = points
        self.info = info or SiteInfo(demand_points=len(self.weights), demand_rows=len(self.weights),
                                     candidates=int((~sites.fixed).sum()), existing=int(sites.fixed.sum()))
        self.time_limit = float(time_limit)
        self.mip_gap = float(mip_gap)
        self.method = method
        self.max_mip_size = int(max_mip_size)
        self.marginal = marginal
        self.theta = float(theta)
        self.solution: _Sol | None = None
        self._marginal_steps: list[dict[str, Any]] = []
        self._check()

    # -- doors ----------------------------------------------------------------------
    @classmethod
    def from_cost_matrix(cls, matrix: Any, weights: Any | None = None, *, service_time: float | None = None,
                         p: int | None = None, fixed: Sequence[int] | np.ndarray | None = None,
                         labels: Sequence[str] | None = None, **options: Any) -> _Model:
        """A model from a demand x site matrix of travel times (or distances).

        Parameters
        ----------
        matrix
            Rows are demand points, columns sites; NaN or inf where a site cannot reach
            a demand point. Any unit, as long as ``service_time`` is in the same one.
        weights
            Demand weights (default 1 each).
        service_time
            Coverage threshold ``T`` (a pair is covered when its cost is ``<= T``).
        p
            New sites to open (existing sites in ``fixed`` come on top).
        fixed
            Column indices of existing sites, always open.
        labels
            Column names (default ``"0"``, ``"1"``, ...).
        options
            ``time_limit`` (s), ``mip_gap``, ``method`` ("auto", "exact", "heuristic"),
            ``max_mip_size``, ``marginal`` ("greedy_order", "resolve", "none"), ``theta``.
        """
        try:
            cost = np.array(matrix, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            msg = "the cost matrix must be numbers"
            raise InputError(msg) from exc
        if cost.ndim != 2 or cost.shape[0] == 0 or cost.shape[1] == 0:
            msg = f"the cost matrix must be 2-D with at least one row and column (shape {cost.shape})"
            raise InputError(msg)
        cost[np.isnan(cost)] = np.inf
        if (cost < 0).any():
            msg = "the cost matrix has negative travel times"
            raise InputError(msg)
        n, m = cost.shape
        w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64).ravel()
        if len(w) != n:
            msg = f"{len(w)} weights for {n} demand rows"
            raise InputError(msg)
        if not np.isfinite(w).all() or (w < 0).any():
            msg = "demand weights must be finite and not negative"
            raise InputError(msg)
        fixed_mask = np.zeros(m, dtype=bool)
        if fixed is not None:
            idx = np.asarray(fixed, dtype=np.int64).ravel()
            if len(idx) and (idx.min() < 0 or idx.max() >= m):
                msg = f"fixed site indices must lie in 0..{m - 1}"
                raise InputError(msg)
            fixed_mask[idx] = True
        names = [str(k) for k in range(m)] if labels is None else [str(x) for x in labels]
        if len(names) != m:
            msg = f"{len(names)} labels for {m} sites"
            raise InputError(msg)
        sites = Sites(labels=names, fixed=fixed_mask)
        cls._check_time(service_time)
        cover = None
        if service_time is not None:
            cover = sp.csr_matrix(cost <= service_time)
        return cls(w, sites, cover=cover, cost=cost if cls.name == "pmedian" else None, p=p,
                   service_time=service_time, **options)

    @classmethod
    def from_city(cls, city: CityBundle, *, minutes: float | None = None, p: int | None = None,
                  mode: str = "walk", direction: Direction = "from_site",
                  demand: Demand | None = None, demand_source: DemandSource = "buildings+addresses",
                  demand_options: DemandOptions | None = None,
                  candidates: CandidateKind | Sequence[tuple[float, float]] = "nodes",
                  candidate_labels: Sequence[str] | None = None, region: shapely.Geometry | None = None,
                  clip_demand: bool = True, max_candidates: int | None = None, grid_spacing_m: float = 250.0,
                  existing: Literal["posts"] | Sequence[tuple[float, float]] | None = "posts",
                  max_snap_m: float = MAX_SNAP_M, seed: int = 0, **options: Any) -> _Model:
        """A model over a city's road network.

        Parameters
        ----------
        city
            A loaded city bundle.
        minutes
            Coverage threshold ``T`` in minutes of travel (optional for the p-median,
            where it only feeds the coverage figures).
        p
            New posts to open (not for LSCP).
        mode
            ``walk`` or ``drive``.
        direction
            ``from_site``: travel time from the post to the residents (an inspector going
            out); ``to_site``: from the residents to the post. Equal when walking.
        demand
            Demand points (`geo_service.siting.demand`); estimated from the bundle when None,
            by ``demand_source`` and ``demand_options``.
        candidates
            ``nodes`` (road nodes), ``buildings`` (building centroids), ``grid`` (a grid of
            ``grid_spacing_m``) inside ``region``, or a planner's list of (lat, lon).
        region
            A polygon (EPSG:4326) that candidates, and demand unless ``clip_demand`` is
            False, must lie in. The whole city when None.
        max_candidates
            Keep an evenly drawn sample (by ``seed``) of this many generated candidates.
        existing
            ``posts`` (the bundle's posts), a list of (lat, lon), or None: open and fixed.
        max_snap_m
            Demand points and candidates farther from the network are left out (reported).
        options
            Solver options, as for `from_cost_matrix`.
        """
        import shapely

        t0 = time.perf_counter()
        if mode not in ("walk", "drive"):
            msg = f"mode must be walk or drive (got {mode!r})"
            raise InputError(msg)
        if direction not in ("from_site", "to_site"):
            msg = f"direction must be from_site or to_site (got {direction!r})"
            raise InputError(msg)
        service_time = None if minutes is None else float(minutes) * 60.0
        cls._check_time(service_time)
        if cls.needs_time and service_time is None:
            msg = f"{cls.name} needs a travel-time threshold (minutes)"
            raise InputError(msg)
        graph = city.graph(mode)
        if region is not None and (not isinstance(region, shapely.Geometry) or region.is_empty):
            msg = "the region must be a non-empty polygon"
            raise InputError(msg)
        # Demand -> snapped nodes -> aggregated rows.
        if demand is None:
            demand = estimate_demand(city, source=demand_source, options=demand_options)
        else:
            demand = from_arrays(*demand)
        if region is not None and clip_demand:
            demand = clip(demand, region)
        keep = demand.weight > 0
        lat, lon, w = demand.lat[keep], demand.lon[keep], demand.weight[keep]
        if len(lat) == 0:
            msg = "no demand (no residents estimated, or none inside the region)"
            raise InputError(msg)
        nodes, dist = graph.snap_many(lat, lon)
        near = dist <= max_snap_m
        info = SiteInfo(demand_points=int(len(lat)), dropped_points=int((~near).sum()),
                        dropped_weight=float(w[~near].sum()), mode=mode, direction=direction)
        lat, lon, w, nodes = lat[near], lon[near], w[near], nodes[near]
        if len(lat) == 0:
            msg = f"no demand point lies within {max_snap_m:.0f} m of the {mode} network"
            raise InputError(msg)
        demand_nodes, row = np.unique(nodes, return_inverse=True)
        weights = np.bincount(row, weights=w, minlength=len(demand_nodes))
        info.demand_rows = len(demand_nodes)
        # Existing posts (fixed) and candidates.
        ex_lat, ex_lon, ex_lab = _existing(city, existing)
        c_lat, c_lon, c_lab = _candidates(city, graph, candidates, candidate_labels, region,
                                          grid_spacing_m, max_candidates, seed)
        if len(c_lat) == 0:
            where = "inside the region" if region is not None else "in the city"
            msg = f"no candidate site {where}"
            raise InputError(msg)
        ex_node, ex_d = graph.snap_many(ex_lat, ex_lon) if len(ex_lat) else (np.zeros(0, np.int64), np.zeros(0))
        c_node, c_d = graph.snap_many(c_lat, c_lon)
        ex_ok = ex_d <= max_snap_m
        c_ok = (c_d <= max_snap_m) & ~np.isin(c_node, ex_node[ex_ok])
        # One candidate per road node (the first listed).
        _, first = np.unique(c_node[c_ok], return_index=True)
        c_idx = np.flatnonzero(c_ok)[np.sort(first)]
        if len(c_idx) == 0:
            msg = f"no candidate site lies within {max_snap_m:.0f} m of the {mode} network (or all are existing posts)"
            raise InputError(msg)
        e_idx = np.flatnonzero(ex_ok)
        site_nodes = np.concatenate([ex_node[e_idx], c_node[c_idx]])
        sites = Sites(labels=[ex_lab[k] for k in e_idx] + [c_lab[k] for k in c_idx],
                      fixed=np.arange(len(site_nodes)) < len(e_idx),
                      lat=np.concatenate([ex_lat[e_idx], c_lat[c_idx]]),
                      lon=np.concatenate([ex_lon[e_idx], c_lon[c_idx]]), node=site_nodes)
        info.candidates = len(c_idx)
        info.existing = len(e_idx)
        cls._check_p(p, info.candidates)
        # Travel times.
        t1 = time.perf_counter()
        cover = cost = None
        if service_time is not None:
            cover = coverage_matrix(graph, site_nodes, demand_nodes, service_time, direction=direction)
        if cls.name == "pmedian":
            if direction == "from_site":
                cost = graph.matrix(site_nodes, demand_nodes).T
            else:
                cost = graph.matrix(demand_nodes, site_nodes)
        info.matrix_seconds = time.perf_counter() - t1
        points = Points(lat=lat, lon=lon, weight=w, row=row,
                        **_precincts_of(city, lat, lon))
        logger.info("%s instance: %d demand points on %d nodes, %d candidates, %d existing; matrix %.2f s, "
                    "set-up %.2f s", cls.name, len(lat), len(demand_nodes), info.candidates, info.existing,
                    info.matrix_seconds, time.perf_counter() - t0)
        return cls(weights, sites, cover=cover, cost=cost, p=p, service_time=service_time, points=points,
                   info=info, **options)

    # -- checks ---------------------------------------------------------------------
    @staticmethod
    def _check_time(service_time: float | None) -> None:
        if service_time is not None and not (np.isfinite(service_time) and service_time > 0):
            msg = f"the travel-time threshold must be positive (got {service_time})"
            raise InputError(msg)

    @classmethod
    def _check_p(cls, p: int | None, n_candidates: int) -> None:
        if not cls.needs_p:
            return
        if p is None or isinstance(p, bool) or int(p) != p:
            msg = f"{cls.name} needs p, a whole number of new posts"
            raise InputError(msg)
        if p < 1:
            msg = f"p must be at least 1 (got {p})"
            raise InputError(msg)
        if p > n_candidates:
            msg = f"p = {p} new posts but only {n_candidates} candidate sites"
            raise InputError(msg)

    def _check(self) -> None:
        m = len(self.sites)
        n_cand = int((~self.sites.fixed).sum())
        if n_cand == 0:
            msg = "no candidate sites (every site is an existing post)"
            raise InputError(msg)
        self._check_p(self.p, n_cand)
        if self.p is not None:
            self.p = int(self.p)
        self._check_time(self.service_time)
        if self.needs_time and self.cover is None:
            msg = f"{self.name} needs a travel-time threshold"
            raise InputError(msg)
        if self.cover is not None and self.cover.shape != (len(self.weights), m):
            msg = "the coverage matrix does not match the demand and sites"
            raise InputError(msg)
        if self.method not in ("auto", "exact", "heuristic"):
            msg = f"method must be auto, exact or heuristic (got {self.method!r})"
            raise InputError(msg)
        if self.marginal not in ("greedy_order", "resolve", "none"):
            msg = f"marginal must be greedy_order, resolve or none (got {self.marginal!r})"
            raise InputError(msg)
        if self.time_limit <= 0 or not (0 <= self.mip_gap < 1):
            msg = "time_limit must be positive and mip_gap in [0, 1)"
            raise InputError(msg)
        if not 0 <= self.theta <= 1:
            msg = f"theta must lie in [0, 1] (got {self.theta})"
            raise InputError(msg)
        self._check_model()

    def _check_model(self) -> None:
        """Model-specific checks before solving."""

    # -- solving --------------------------------------------------------------------
    def solve(self) -> _Model:
        """Solve; returns the model with `solution` set."""
        self.solution = self._solve(self.p)
        self._marginal_steps = self._marginals()
        s = self.solution
        logger.info("%s solved (%s, %s): objective %.6g, gap %s, %.2f s", self.name, s.method, s.status,
                    s.objective, "n/a" if s.gap is None else f"{s.gap:.2%}", s.seconds)
        return self

    def _solve(self, p: int | None) -> _Sol:
        raise NotImplementedError

    @property
    def chosen(self) -> np.ndarray:
        """Indices of the new sites chosen."""
        self._need_solution()
        return np.flatnonzero(self.solution.y & ~self.sites.fixed)

    @property
    def objective(self) -> float:
        self._need_solution()
        return self.solution.objective

    def _need_solution(self) -> None:
        if self.solution is None:
            msg = "call solve() first"
            raise RuntimeError(msg)

    # -- figures --------------------------------------------------------------------
    def covered_rows(self, y: np.ndarray, times: int = 1) -> np.ndarray:
        """Rows reached by at least ``times`` open sites within T."""
        if self.cover is None:
            return np.zeros(len(self.weights), dtype=bool)
        return np.asarray(self.cover @ y.astype(np.int64)).ravel() >= times

    def coverage(self, y: np.ndarray, times: int = 1) -> float:
        total = self.weights.sum()
        return float(self.weights[self.covered_rows(y, times)].sum() / total) if total > 0 else 0.0

    def nearest_time(self, y: np.ndarray) -> np.ndarray | None:
        if self.cost is None or not y.any():
            return None
        return self.cost[:, y].min(axis=1)

    def mean_time(self, y: np.ndarray) -> float | None:
        t = self.nearest_time(y)
        if t is None or not np.isfinite(t[self.weights > 0]).all() or self.weights.sum() == 0:
            return None
        return float((self.weights * np.where(self.weights > 0, t, 0)).sum() / self.weights.sum())

    def _score(self, y: np.ndarray) -> float:
        """The figure the marginal gains are reported in."""
        return self.coverage(y)

    def _marginals(self) -> list[dict[str, Any]]:
        if self.marginal == "none":
            return []
        chosen = list(self.chosen)
        base = self.sites.fixed.copy()
        steps: list[dict[str, Any]] = []
        if self.marginal == "resolve" and self.needs_p:
            prev = self._score(base)
            for k in range(1, int(self.p) + 1):
                sol = self.solution if k == self.p else self._solve(k)
                score = self._score(sol.y)
                steps.append({"p": k, "sites": [self.sites.labels[j] for j in np.flatnonzero(sol.y & ~base)],
                              "value": score, "gain": score - prev, "objective": sol.objective})
                prev = score
            return steps
        # Greedy order of the chosen sites: each step adds the chosen site that helps most.
        y = base.copy()
        prev = self._score(y)
        while chosen:
            best, best_score = None, None
            for j in chosen:
                y[j] = True
                s = self._score(y)
                y[j] = False
                if best is None or self._better(s, best_score):
                    best, best_score = j, s
            chosen.remove(best)
            y[best] = True
            steps.append({"p": len(steps) + 1, "sites": [self.sites.labels[best]], "value": best_score,
                          "gain": best_score - prev})
            prev = best_score
        return steps

    def _better(self, a: float, b: float | None) -> bool:
        return b is None or a > b

    def to_dict(self, *, max_points: int = 2000) -> dict[str, Any]:
        """The results: chosen sites, coverage before/after, per precinct, uncovered demand,
        marginal gains, objective, gap and solve time."""
        self._need_solution()
        s = self.solution
        fixed = self.sites.fixed
        total = float(self.weights.sum())
        out: dict[str, Any] = {
            "model": self.name,
            "p": self.p,
            "service_time": self.service_time,
            "service_time_unit": "s" if self.info.mode else "matrix units",
            "status": s.status,
            "method": s.method,
            "objective": s.objective,
            "bound": s.bound,
            "gap": s.gap,
            "solve_seconds": round(s.seconds, 4),
            "matrix_seconds": round(self.info.matrix_seconds, 4),
            "chosen": [self._site(j) for j in self.chosen],
            "existing": [self._site(j) for j in np.flatnonzero(fixed)],
            "demand": {"points": self.info.demand_points, "rows": self.info.demand_rows,
                       "total_weight": total, "dropped_far_from_network": self.info.dropped_points,
                       "dropped_weight": self.info.dropped_weight},
            "candidates": self.info.candidates,
            "mode": self.info.mode,
            "direction": self.info.direction,
        }
        if self.cover is not None:
            out["coverage"] = {
                "before": self._cov(fixed), "after": self._cov(s.y),
            }
            out["coverage_twice"] = {"before": self._cov(fixed, 2), "after": self._cov(s.y, 2)}
        if self.cost is not None:
            out["mean_time"] = {"before": self.mean_time(fixed), "after": self.mean_time(s.y)}
        out["marginal"] = {
            "method": self.marginal,
            "measure": "mean_time" if self.name == "pmedian" else "coverage_share",
            "note": ("greedy order of the chosen sites: each step adds the chosen site that improves "
                     "the measure most" if self.marginal == "greedy_order" else
                     "the model solved again for p = 1..P" if self.marginal == "resolve" else "not computed"),
            "steps": self._marginal_steps,
        }
        if self.points is not None:
            out.update(self._point_report(s.y, max_points))
        return out

    def _cov(self, y: np.ndarray, times: int = 1) -> dict[str, float]:
        rows = self.covered_rows(y, times)
        weight = float(self.weights[rows].sum())
        total = float(self.weights.sum())
        return {"weight": weight, "share": weight / total if total else 0.0}

    def _site(self, j: int) -> dict[str, Any]:
        d: dict[str, Any] = {"label": self.sites.labels[j], "index": int(j)}
        if self.sites.lat is not None:
            d["lat"] = round(float(self.sites.lat[j]), 7)
            d["lon"] = round(float(self.sites.lon[j]), 7)
            d["node"] = int(self.sites.node[j])
        return d

    def _point_report(self, y: np.ndarray, max_points: int) -> dict[str, Any]:
        pts = self.points
        before = self.covered_rows(self.sites.fixed)[pts.row]
        after = self.covered_rows(y)[pts.row]
        if self.cover is None:  # p-median without T: nothing is "covered"
            after = before = np.zeros(len(pts.row), dtype=bool)
        precincts = []
        for k, (pid, name) in enumerate(pts.precincts):
            sel = pts.precinct == k
            tot = float(pts.weight[sel].sum())
            cb = float(pts.weight[sel & before].sum())
            ca = float(pts.weight[sel & after].sum())
            precincts.append({"precinct_id": pid, "name": name, "weight": tot, "covered_before": cb,
                              "covered_after": ca, "share_before": cb / tot if tot else None,
                              "share_after": ca / tot if tot else None})
        outside = pts.precinct < 0
        unc = np.flatnonzero(~after)
        order = unc[np.argsort(-pts.weight[unc], kind="stable")][:max_points]
        return {
            "precincts": precincts,
            "outside_precincts_weight": float(pts.weight[outside].sum()),
            "uncovered": {
                "count": int(len(unc)), "weight": float(pts.weight[unc].sum()),
                "truncated": bool(len(unc) > max_points),
                "points": [[round(float(pts.lat[i]), 7), round(float(pts.lon[i]), 7), round(float(pts.weight[i]), 3)]
                           for i in order],
                "point_fields": ["lat", "lon", "weight"],
            },
        }


def _merge_rows(a: sp.csr_matrix, w: np.ndarray, extra: np.ndarray | None = None
                ) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray | None]:
    """Merge identical rows of a 0/1 CSR matrix (same columns and same ``extra``), summing weights."""
    a = a.tocsr()
    a.sort_indices()
    keys: dict[tuple, int] = {}
    group = np.empty(a.shape[0], dtype=np.int64)
    ind, ptr = a.indices, a.indptr
    for i in range(a.shape[0]):
        key = (ind[ptr[i]:ptr[i + 1]].tobytes(), None if extra is None else int(extra[i]))
        g = keys.get(key)
        if g is None:
            g = keys[key] = len(keys)
        group[i] = g
    first = np.zeros(len(keys), dtype=np.int64)
    first[group[::-1]] = np.arange(a.shape[0])[::-1]
    w2 = np.bincount(group, weights=w, minlength=len(keys))
    return a[first], w2, None if extra is None else extra[first]


# ----------------------------------------------------------------- coverage models
class _CoverageModel(_Model):
    """MCLP, LSCP and backup coverage share the reduction of the coverage matrix."""

    def _free(self) -> tuple[np.ndarray, sp.csr_matrix, np.ndarray]:
        fixed = self.sites.fixed
        free = np.flatnonzero(~fixed)
        a = self.cover.tocsc()
        k_fixed = np.asarray(a[:, np.flatnonzero(fixed)].sum(axis=1)).ravel().astype(np.int64)
        a_free = sp.csr_matrix(a[:, free], dtype=np.int8)
        a_free.data[:] = 1
        return free, a_free, k_fixed

    def _y_full(self, free: np.ndarray, y_free: np.ndarray) -> np.ndarray:
        y = self.sites.fixed.copy()
        y[free[y_free.astype(bool)]] = True
        return y


class MCLP(_CoverageModel):
    """Maximal covering location: the most demand within T with p new posts."""

    name = "mclp"

    def _solve(self, p: int | None) -> _Sol:
        t0 = time.perf_counter()
        free, a_free, k_fixed = self._free()
        w = self.weights
        base = float(w[k_fixed > 0].sum())
        rows = (k_fixed == 0) & (np.diff(a_free.indptr) > 0) & (w > 0)
        a, wr, _ = _merge_rows(a_free[rows], w[rows])
        y0 = _greedy_cover(a, wr, p)
        greedy_obj = base + float(wr[np.asarray(a @ y0).ravel() > 0].sum())
        nc, nr = len(free), a.shape[0]
        size = a.nnz + nc + nr
        if nr == 0:
            return _Sol(self._y_full(free, y0), greedy_obj, greedy_obj, 0.0, "optimal", "trivial",
                        time.perf_counter() - t0)
        # Columns: y (nc, binary), z (nr, [0, 1]). Rows: z_r - sum_{j in N_r} y_j <= 0; sum y = p.
        cover_rows = sp.hstack([-a.astype(np.float64), sp.identity(nr, format="csr")], format="csr")
        card = sp.csr_matrix((np.ones(nc), (np.zeros(nc, dtype=np.int64), np.arange(nc))), shape=(1, nc + nr))
        amat = sp.vstack([cover_rows, card], format="csr")
        lo = np.concatenate([np.full(nr, -np.inf), [p]])
        hi = np.concatenate([np.zeros(nr), [p]])
        cost = np.concatenate([np.zeros(nc), wr])
        z0 = np.minimum(np.asarray(a @ y0).ravel(), 1)
        heuristic = self.method == "heuristic" or (self.method == "auto" and size > self.max_mip_size)
        x, obj, bound, gap, status = run_highs(
            nc + nr, cost, np.zeros(nc + nr), np.ones(nc + nr), np.arange(nc + nr) < nc, amat, lo, hi,
            maximise=True, start=np.concatenate([y0, z0]), time_limit=self.time_limit, mip_gap=self.mip_gap,
            relax=heuristic)
        if heuristic:
            lp_bound = base + obj if obj is not None else None
            return _Sol(self._y_full(free, y0), greedy_obj, lp_bound,
                        None if lp_bound is None else relative_gap(greedy_obj, lp_bound), "heuristic",
                        "greedy+lp_bound", time.perf_counter() - t0)
        if x is None:  # no incumbent within the time limit: the greedy solution is feasible
            logger.warning("MCLP: HiGHS found no solution (%s); returning the greedy one", status)
            return _Sol(self._y_full(free, y0), greedy_obj, None, None, f"greedy ({status})", "greedy",
                        time.perf_counter() - t0)
        y_free = np.rint(x[:nc]).astype(bool)
        # Report the objective from the chosen sites (exact, not the solver's float).
        y = self._y_full(free, y_free)
        obj_exact = base + float(wr[np.asarray(a @ y_free.astype(np.int64)).ravel() > 0].sum())
        return _Sol(y, obj_exact, base + bound, gap, status, "mip", time.perf_counter() - t0)


class LSCP(_CoverageModel):
    """Location set covering: the fewest new posts that put all demand within T."""

    name = "lscp"
    needs_p = False
    sense = 1

    def _check_model(self) -> None:
        reach = np.asarray(self.cover.sum(axis=1)).ravel() > 0
        need = self.weights > 0
        bad = need & ~reach
        if bad.any():
            idx = np.flatnonzero(bad)
            where = ""
            if self.points is not None:
                pts = np.flatnonzero(np.isin(self.points.row, idx))[:3]
                where = " (e.g. " + ", ".join(f"{self.points.lat[i]:.5f},{self.points.lon[i]:.5f}"
                                             for i in pts) + ")"
            msg = (f"no candidate site reaches {len(idx)} demand point(s) within the time limit{where}: "
                   "every demand point cannot be covered; add candidates, raise T or use MCLP")
            raise InputError(msg, uncoverable=int(len(idx)), uncoverable_weight=float(self.weights[idx].sum()))

    def _solve(self, p: int | None) -> _Sol:
        t0 = time.perf_counter()
        free, a_free, k_fixed = self._free()
        rows = (k_fixed == 0) & (self.weights > 0)
        a, wr, _ = _merge_rows(a_free[rows], self.weights[rows])
        nc, nr = len(free), a.shape[0]
        if nr == 0:
            return _Sol(self.sites.fixed.copy(), 0.0, 0.0, 0.0, "optimal", "trivial", time.perf_counter() - t0)
        y0 = _greedy_set_cover(a)
        heuristic = self.method == "heuristic" or (self.method == "auto" and a.nnz > self.max_mip_size)
        x, obj, bound, gap, status = run_highs(
            nc, np.ones(nc), np.zeros(nc), np.ones(nc), np.ones(nc, dtype=bool), a.astype(np.float64),
            np.ones(nr), np.full(nr, np.inf), maximise=False, start=y0, time_limit=self.time_limit,
            mip_gap=self.mip_gap, relax=heuristic)
        if heuristic:
            g = float(y0.sum())
            return _Sol(self._y_full(free, y0), g, obj, None if obj is None else relative_gap(g, obj), "heuristic",
                        "greedy+lp_bound", time.perf_counter() - t0)
        if x is None:  # no incumbent within the time limit: the greedy cover is feasible
            logger.warning("LSCP: HiGHS found no solution (%s); returning the greedy cover", status)
            return _Sol(self._y_full(free, y0), float(y0.sum()), None, None, f"greedy ({status})", "greedy",
                        time.perf_counter() - t0)
        y_free = np.rint(x[:nc]).astype(bool)
        return _Sol(self._y_full(free, y_free), float(y_free.sum()), bound, gap, status, "mip",
                    time.perf_counter() - t0)

    def to_dict(self, **kw: Any) -> dict[str, Any]:
        out = super().to_dict(**kw)
        out["p"] = int(len(self.chosen))
        return out


class BackupCoverage(_CoverageModel):
    """Backup coverage: demand within T of one and of two open posts (BACOP2)."""

    name = "backup"

    def _solve(self, p: int | None) -> _Sol:
        t0 = time.perf_counter()
        free, a_free, k_fixed = self._free()
        w, th = self.weights, self.theta
        k_fixed = np.minimum(k_fixed, 2)
        base = float(w[k_fixed >= 2].sum())  # theta + (1 - theta) each
        rows = (k_fixed < 2) & ((np.diff(a_free.indptr) > 0) | (k_fixed > 0)) & (w > 0)
        a, wr, kf = _merge_rows(a_free[rows], w[rows], k_fixed[rows])
        nc, nr = len(free), a.shape[0]
        y0 = _greedy_backup(a, wr, kf, p, th)

        def value(y_free: np.ndarray) -> float:
            k = np.asarray(a @ y_free.astype(np.int64)).ravel() + kf
            return base + float((wr * (th * (k >= 1) + (1 - th) * (k >= 2))).sum())

        if nr == 0:
            return _Sol(self._y_full(free, y0), value(y0), value(y0), 0.0, "optimal", "trivial",
                        time.perf_counter() - t0)
        # Columns: y (nc), z1 (nr), z2 (nr). Rows: z1 + z2 - sum y <= kf; z2 - z1 <= 0; sum y = p.
        eye = sp.identity(nr, format="csr")
        r1 = sp.hstack([-a.astype(np.float64), eye, eye], format="csr")
        r2 = sp.hstack([sp.csr_matrix((nr, nc)), -eye, eye], format="csr")
        card = sp.csr_matrix((np.ones(nc), (np.zeros(nc, dtype=np.int64), np.arange(nc))),
                             shape=(1, nc + 2 * nr))
        amat = sp.vstack([r1, r2, card], format="csr")
        lo = np.concatenate([np.full(2 * nr, -np.inf), [p]])
        hi = np.concatenate([kf.astype(np.float64), np.zeros(nr), [p]])
        cost = np.concatenate([np.zeros(nc), th * wr, (1 - th) * wr])
        k0 = np.asarray(a @ y0).ravel() + kf
        start = np.concatenate([y0, (k0 >= 1).astype(float), (k0 >= 2).astype(float)])
        heuristic = self.method == "heuristic" or (self.method == "auto" and amat.nnz > self.max_mip_size)
        x, obj, bound, gap, status = run_highs(
            nc + 2 * nr, cost, np.zeros(nc + 2 * nr), np.ones(nc + 2 * nr), np.arange(nc + 2 * nr) < nc,
            amat, lo, hi, maximise=True, start=start, time_limit=self.time_limit, mip_gap=self.mip_gap,
            relax=heuristic)
        if heuristic:
            g = value(y0)
            lp_bound = None if obj is None else base + obj
            return _Sol(self._y_full(free, y0), g, lp_bound, None if lp_bound is None else relative_gap(g, lp_bound),
                        "heuristic", "greedy+lp_bound", time.perf_counter() - t0)
        if x is None:  # no incumbent within the time limit: the greedy solution is feasible
            logger.warning("backup coverage: HiGHS found no solution (%s); returning the greedy one", status)
            return _Sol(self._y_full(free, y0), value(y0), None, None, f"greedy ({status})", "greedy",
                        time.perf_counter() - t0)
        y_free = np.rint(x[:nc]).astype(bool)
        return _Sol(self._y_full(free, y_free), value(y_free), base + bound, gap, status, "mip",
                    time.perf_counter() - t0)

    def _score(self, y: np.ndarray) -> float:
        k = np.asarray(self.cover @ y.astype(np.int64)).ravel()
        tot = self.weights.sum()
        return float((self.weights * (self.theta * (k >= 1) + (1 - self.theta) * (k >= 2))).sum() / tot)


# ----------------------------------------------------------------------- p-median
class PMedian(_Model):
    """p-median: the least weighted mean travel time to the nearest open post."""

    name = "pmedian"
    needs_time = False
    sense = 1

    def _check_model(self) -> None:
        if self.cost is None:
            msg = "the p-median needs a cost matrix"
            raise InputError(msg)
        reach = np.isfinite(self.cost).any(axis=1)
        bad = (self.weights > 0) & ~reach
        if bad.any():
            msg = f"{int(bad.sum())} demand point(s) cannot be reached from any site"
            raise InputError(msg)

    def _score(self, y: np.ndarray) -> float:
        t = self.mean_time(y)
        return float("inf") if t is None else t

    def _better(self, a: float, b: float | None) -> bool:
        return b is None or a < b

    def _solve(self, p: int | None) -> _Sol:
        t0 = time.perf_counter()
        keep = self.weights > 0
        c = self.cost[keep]
        w = self.weights[keep]
        fixed = self.sites.fixed
        free = np.flatnonzero(~fixed)
        n, m = c.shape
        y0 = _greedy_median(c, w, fixed, p)
        y0 = _swap_median(c, w, fixed, y0)
        greedy_obj = _median_value(c, w, y0)
        # Exact reduction: a row is never assigned beyond its nearest fixed site.
        cap = c[:, fixed].min(axis=1) if fixed.any() else np.full(n, np.inf)
        allowed = np.isfinite(c) & (c <= cap[:, None])
        allowed[:, fixed] &= c[:, fixed] <= cap[:, None]
        ii, jj = np.nonzero(allowed)
        nx = len(ii)
        heuristic = self.method == "heuristic" or (self.method == "auto" and 3 * nx > self.max_mip_size)
        if heuristic:
            bound = _lagrangian_median(c, w, fixed, p)
            return _Sol(y0, greedy_obj, bound, relative_gap(greedy_obj, bound), "heuristic", "greedy+swap+lagrangian_bound",
                        time.perf_counter() - t0)
        # Columns: y (m), x (nx). Rows: sum_j x_ij = 1 (n); x_ij - y_j <= 0 (nx); sum_{free} y = p.
        ncol = m + nx
        k = np.arange(nx)
        assign = sp.csr_matrix((np.ones(nx), (ii, m + k)), shape=(n, ncol))
        link = sp.csr_matrix((np.concatenate([np.ones(nx), -np.ones(nx)]),
                              (np.concatenate([k, k]), np.concatenate([m + k, jj]))), shape=(nx, ncol))
        card = sp.csr_matrix((np.ones(len(free)), (np.zeros(len(free), dtype=np.int64), free)), shape=(1, ncol))
        amat = sp.vstack([assign, link, card], format="csr")
        lo = np.concatenate([np.ones(n), np.full(nx, -np.inf), [p]])
        hi = np.concatenate([np.ones(n), np.zeros(nx), [p]])
        cost = np.concatenate([np.zeros(m), w[ii] * c[ii, jj]])
        lower = np.zeros(ncol)
        lower[np.flatnonzero(fixed)] = 1.0
        # Warm start: the greedy sites, each row to its nearest open site.
        masked = np.where(y0[None, :], c, np.inf)
        near = masked.argmin(axis=1)
        x0 = (jj == near[ii]).astype(np.float64)
        # A row's nearest open site may be outside ``allowed`` only on a tie with a fixed site.
        start = np.concatenate([y0.astype(np.float64), x0]) if np.all(np.bincount(ii, weights=x0, minlength=n) == 1) \
            else None
        x, obj, bound, gap, status = run_highs(
            ncol, cost, lower, np.ones(ncol), np.arange(ncol) < m, amat, lo, hi, maximise=False, start=start,
            time_limit=self.time_limit, mip_gap=self.mip_gap)
        if x is None:  # no incumbent within the time limit: the greedy sites are feasible
            logger.warning("p-median: HiGHS found no solution (%s); returning the greedy sites", status)
            return _Sol(y0, _median_value(c, w, y0), None, None, f"greedy ({status})", "greedy",
                        time.perf_counter() - t0)
        y = np.rint(x[:m]).astype(bool)
        return _Sol(y, _median_value(c, w, y), bound, gap, status, "mip", time.perf_counter() - t0)

    def to_dict(self, **kw: Any) -> dict[str, Any]:
        out = super().to_dict(**kw)
        total = self.weights.sum()
        out["objective_mean"] = self.solution.objective / total if total else None
        return out


MODELS: dict[str, type[_Model]] = {"mclp": MCLP, "lscp": LSCP, "pmedian": PMedian, "backup": BackupCoverage}


# --------------------------------------------------------------------- heuristics
def _greedy_cover(a: sp.csr_matrix, w: np.ndarray, p: int) -> np.ndarray:
    """Greedy MCLP: p times, open the site covering the most uncovered weight."""
    nc = a.shape[1]
    y = np.zeros(nc)
    at = a.T.tocsr().astype(np.float64)
    ac = a.tocsc()
    unc = w.astype(np.float64).copy()
    for _ in range(p):
        gains = at @ unc
        gains[y > 0] = -1.0
        j = int(np.argmax(gains))
        y[j] = 1.0
        unc[ac.indices[ac.indptr[j]:ac.indptr[j + 1]]] = 0.0
    return y


def _greedy_set_cover(a: sp.csr_matrix) -> np.ndarray:
    """Greedy set cover, then drop sites no row needs."""
    nc = a.shape[1]
    y = np.zeros(nc)
    at = a.T.tocsr().astype(np.float64)
    ac = a.tocsc()
    unc = np.ones(a.shape[0])
    while unc.any():
        gains = at @ unc
        j = int(np.argmax(gains))
        if gains[j] <= 0:
            break
        y[j] = 1.0
        unc[ac.indices[ac.indptr[j]:ac.indptr[j + 1]]] = 0.0
    # Remove redundant sites (latest first).
    count = np.asarray(a @ y).ravel()
    for j in np.flatnonzero(y)[::-1]:
        rows = ac.indices[ac.indptr[j]:ac.indptr[j + 1]]
        if (count[rows] >= 2).all():
            y[j] = 0.0
            count[rows] -= 1
    return y


def _greedy_backup(a: sp.csr_matrix, w: np.ndarray, kf: np.ndarray, p: int, th: float) -> np.ndarray:
    nc = a.shape[1]
    y = np.zeros(nc)
    at = a.T.tocsr().astype(np.float64)
    ac = a.tocsc()
    k = kf.astype(np.int64).copy()
    for _ in range(p):
        v = w * np.where(k == 0, th, np.where(k == 1, 1 - th, 0.0))
        gains = at @ v
        gains[y > 0] = -1.0
        j = int(np.argmax(gains))
        y[j] = 1.0
        k[ac.indices[ac.indptr[j]:ac.indptr[j + 1]]] += 1
    return y


def _median_value(c: np.ndarray, w: np.ndarray, y: np.ndarray) -> float:
    return float((w * c[:, y].min(axis=1)).sum())


def _greedy_median(c: np.ndarray, w: np.ndarray, fixed: np.ndarray, p: int) -> np.ndarray:
    """Greedy p-median: add the site that lowers the total weighted time most."""
    big = np.where(np.isfinite(c), c, np.nan)
    big = np.nan_to_num(big, nan=(np.nanmax(big) if np.isfinite(np.nanmax(big)) else 1.0) * 1e3 + 1.0)
    y = fixed.copy()
    cur = big[:, y].min(axis=1) if y.any() else np.full(len(w), np.inf)
    for _ in range(p):
        tot = (w[:, None] * np.minimum(cur[:, None], big)).sum(axis=0)
        tot[y] = np.inf
        j = int(np.argmin(tot))
        y[j] = True
        cur = np.minimum(cur, big[:, j])
    return y


def _swap_median(c: np.ndarray, w: np.ndarray, fixed: np.ndarray, y: np.ndarray, *,
                 max_rounds: int = 3) -> np.ndarray:
    """Teitz-Bart swaps (first improvement over the open free sites), a few rounds."""
    big = np.where(np.isfinite(c), c, 1e18)
    y = y.copy()
    best = float((w * big[:, y].min(axis=1)).sum())
    for _ in range(max_rounds):
        improved = False
        for out in np.flatnonzero(y & ~fixed):
            y[out] = False
            cur = big[:, y].min(axis=1)
            tot = (w[:, None] * np.minimum(cur[:, None], big)).sum(axis=0)
            tot[y] = np.inf
            tot[out] = np.inf
            j = int(np.argmin(tot))
            if tot[j] < best - 1e-9 * max(1.0, abs(best)):
                y[j] = True
                best = float(tot[j])
                improved = True
            else:
                y[out] = True
        if not improved:
            break
    return y


def _lagrangian_median(c: np.ndarray, w: np.ndarray, fixed: np.ndarray, p: int, *, iters: int = 200) -> float:
    """A lower bound for the p-median by Lagrangian relaxation of the assignment rows."""
    big = np.where(np.isfinite(c), w[:, None] * c, 1e18)
    lam = big.min(axis=1).copy()
    best = -np.inf
    ub = float(_median_value(c, w, _greedy_median(c, w, fixed, p)))
    step = 2.0
    free = ~fixed
    for _ in range(iters):
        red = np.minimum(big - lam[:, None], 0.0)
        rho = red.sum(axis=0)
        open_ = fixed.copy()
        cand = np.flatnonzero(free)
        open_[cand[np.argsort(rho[cand], kind="stable")[:p]]] = True
        val = float(lam.sum() + rho[open_].sum())
        best = max(best, val)
        # Subgradient: 1 - sum_j x_ij, with x_ij = 1 where reduced cost < 0 and j open.
        g = 1.0 - ((big - lam[:, None] < 0) & open_[None, :]).sum(axis=1)
        norm = float((g * g).sum())
        if norm == 0:
            break
        lam = lam + step * (ub - val) / norm * g
        step *= 0.97
    return best


# ------------------------------------------------------------- coverage from graph
def coverage_matrix(graph: RoadGraph, site_nodes: np.ndarray, demand_nodes: np.ndarray, limit_s: float, *,
                    direction: Direction = "from_site") -> sp.csr_matrix:
    """Demand x site 0/1 matrix: travel time within ``limit_s`` (bounded Dijkstra from each site).

    ``from_site`` runs on the forward graph (site -> demand); ``to_site`` on the reversed
    graph (demand -> site).
    """
    from scipy.sparse.csgraph import dijkstra

    g = graph.csr()
    if direction == "to_site":
        g = g.T.tocsr()
    n_nodes = graph.n_nodes
    col_of = np.full(n_nodes, -1, dtype=np.int64)
    col_of[demand_nodes] = np.arange(len(demand_nodes))
    batch = max(1, DIJKSTRA_BATCH_CELLS // max(n_nodes, 1))
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    site_nodes = np.asarray(site_nodes, dtype=np.int64)
    for s in range(0, len(site_nodes), batch):
        src = site_nodes[s:s + batch]
        d = dijkstra(g, directed=True, indices=src, limit=limit_s)
        d = d[:, demand_nodes]
        k, i = np.nonzero(d <= limit_s)
        rows.append(i)
        cols.append(k + s)
    i = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    j = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    return sp.csr_matrix((np.ones(len(i), dtype=np.int8), (i, j)), shape=(len(demand_nodes), len(site_nodes)))


# ------------------------------------------------------------------ city helpers
def _existing(city: CityBundle, existing: Any) -> tuple[np.ndarray, np.ndarray, list[str]]:
    if existing is None:
        return np.zeros(0), np.zeros(0), []
    if isinstance(existing, str):
        if existing != "posts":
            msg = f"existing must be 'posts', a list of (lat, lon) or None (got {existing!r})"
            raise InputError(msg)
        posts = city.posts
        ok = posts["lat"].notna() & posts["lon"].notna()
        posts = posts[ok]
        return (posts["lat"].to_numpy(np.float64), posts["lon"].to_numpy(np.float64),
                [str(x) for x in posts["post_id"]])
    arr = _latlon_list(existing, "existing posts")
    return arr[:, 0], arr[:, 1], [f"existing-{k + 1}" for k in range(len(arr))]


def _latlon_list(values: Any, what: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=np.float64).reshape(-1, 2)
    except (TypeError, ValueError) as exc:
        msg = f"{what} must be a list of (lat, lon) pairs"
        raise InputError(msg) from exc
    if not np.isfinite(arr).all() or (np.abs(arr[:, 0]) > 90).any() or (np.abs(arr[:, 1]) > 180).any():
        msg = f"{what} have missing or impossible coordinates"
        raise InputError(msg)
    return arr


def _candidates(city: CityBundle, graph: RoadGraph, kind: Any, labels: Sequence[str] | None,
                region: shapely.Geometry | None, spacing: float, max_candidates: int | None, seed: int
                ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    import shapely

    if not isinstance(kind, str):
        arr = _latlon_list(kind, "candidate sites")
        lab = [str(x) for x in labels] if labels is not None else [f"site-{k + 1}" for k in range(len(arr))]
        if len(lab) != len(arr):
            msg = f"{len(lab)} candidate labels for {len(arr)} candidates"
            raise InputError(msg)
        lat, lon = arr[:, 0], arr[:, 1]
        generated = False
    elif kind == "nodes":
        lat, lon = graph.lat, graph.lon
        lab = None
        generated = True
    elif kind == "buildings":
        b = city.buildings()
        pts = shapely.centroid(np.asarray(b["geometry"].to_numpy(), dtype=object))
        lat, lon = shapely.get_y(pts), shapely.get_x(pts)
        lab = [f"building-{x}" for x in b["osm_id"]]
        generated = True
    elif kind == "grid":
        if not spacing > 0:
            msg = f"grid spacing must be positive (got {spacing})"
            raise InputError(msg)
        if region is not None:
            minx, miny, maxx, maxy = region.bounds
        else:
            minx, miny, maxx, maxy = city.manifest["bbox"]
        dlat = spacing / 111_195.0
        dlon = spacing / (111_195.0 * np.cos(np.radians((miny + maxy) / 2)))
        n_cells = ((maxy - miny) / dlat + 1) * ((maxx - minx) / dlon + 1)
        if n_cells > 2_000_000:
            msg = f"a {spacing:.0f} m grid over this area has {n_cells:.0f} points; use a coarser grid or a region"
            raise InputError(msg)
        gy, gx = np.meshgrid(np.arange(miny, maxy + dlat / 2, dlat), np.arange(minx, maxx + dlon / 2, dlon),
                             indexing="ij")
        lat, lon = gy.ravel(), gx.ravel()
        lab = None
        generated = True
    else:
        msg = f"candidates must be nodes, buildings, grid or a list of (lat, lon) (got {kind!r})"
        raise InputError(msg)
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    if region is not None:
        shapely.prepare(region)
        inside = shapely.contains_xy(region, lon, lat)
        lat, lon = lat[inside], lon[inside]
        if lab is not None:
            lab = [lab[k] for k in np.flatnonzero(inside)]
    if generated and max_candidates is not None and len(lat) > max_candidates:
        if max_candidates < 1:
            msg = "max_candidates must be at least 1"
            raise InputError(msg)
        pick = np.sort(np.random.default_rng(seed).choice(len(lat), size=max_candidates, replace=False))
        lat, lon = lat[pick], lon[pick]
        if lab is not None:
            lab = [lab[k] for k in pick]
    if lab is None:
        prefix = "node" if kind == "nodes" else "grid"
        lab = [f"{prefix}-{la:.6f},{lo:.6f}" for la, lo in zip(lat, lon, strict=True)]
    return lat, lon, lab


def _precincts_of(city: CityBundle, lat: np.ndarray, lon: np.ndarray) -> dict[str, Any]:
    """Precinct index of each point (ties on a shared border: the first precinct listed)."""
    import shapely

    pr = city.precincts
    names = [(str(a), str(b)) for a, b in zip(pr["precinct_id"], pr["name"], strict=True)]
    out = np.full(len(lat), -1, dtype=np.int64)
    if len(pr) and len(lat):
        tree = shapely.STRtree(np.asarray(pr["geometry"].to_numpy(), dtype=object))
        pt_idx, poly_idx = tree.query(shapely.points(lon, lat), predicate="intersects")
        order = np.lexsort((poly_idx, pt_idx))
        pt_idx, poly_idx = pt_idx[order], poly_idx[order]
        first = np.ones(len(pt_idx), dtype=bool)
        first[1:] = pt_idx[1:] != pt_idx[:-1]
        out[pt_idx[first]] = poly_idx[first]
    return {"precinct": out, "precincts": names}


def read_cost_matrix(path: Any) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Read the second door's CSV: a demand id column, an optional ``weight`` column, and
    one column per candidate site (travel times from another engine; empty = unreachable).

    Returns
    -------
    matrix, weights, site labels
    """
    import pandas as pd

    try:
        frame = pd.read_csv(path, sep=None, engine="python", encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        msg = f"{path}: cannot read the cost matrix ({exc}); fix: give a CSV with a header row"
        raise InputError(msg) from exc
    if frame.shape[1] < 2:
        msg = f"{path}: the matrix needs a demand id column and at least one site column"
        raise InputError(msg)
    frame = frame.set_index(frame.columns[0])
    weights = np.ones(len(frame))
    if "weight" in frame.columns:
        weights = pd.to_numeric(frame.pop("weight"), errors="coerce").to_numpy(dtype=float)
        if not np.isfinite(weights).all() or (weights < 0).any():
            msg = f"{path}: every weight must be a number >= 0"
            raise InputError(msg)
    values = frame.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    if values.size == 0:
        msg = f"{path}: the matrix has no site columns"
        raise InputError(msg)
    return values, weights, [str(c) for c in frame.columns]
