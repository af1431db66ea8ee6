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
import pandas as pd
import shapely

from geo_service.errors import InputError
from geo_service.siting.candidates import MAX_SNAP_M, Direction, precincts_of, site_columns, snap_demand, travel_times
from geo_service.siting.demand import Demand, DemandOptions, DemandSource

if TYPE_CHECKING:
    import scipy.sparse as sp

    from geo_service.bundle import CityBundle

logger = logging.getLogger(__name__)

Method = Literal["auto", "exact", "heuristic"]
Marginal = Literal["greedy_order", "resolve", "none"]
CandidateKind = Literal["nodes", "buildings", "grid"]

#: Above this many constraint-matrix non-zeros, ``method="auto"`` uses the heuristic.
MAX_MIP_SIZE = 4_000_000

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
class Solution:
    """One solve's answer: the open sites, the objective, HiGHS's bound and gap, how it was found."""

    y: np.ndarray  # bool (m,) open sites including fixed
    objective: float
    bound: float | None
    gap: float | None
    status: str
    method: str
    seconds: float


class SitingModel:
    """What the four models share: the instance, the checks, the report."""

    name: ClassVar[str] = ""
    needs_p: ClassVar[bool] = True
    needs_time: ClassVar[bool] = True

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
        self.solution: Solution | None = None
        self._marginal_steps: list[dict[str, Any]] = []
        self._check()

    # -- doors ----------------------------------------------------------------------
    @classmethod
    def from_cost_matrix(cls, matrix: Any, weights: Any | None = None, *, service_time: float | None = None,
                         p: int | None = None, fixed: Sequence[int] | np.ndarray | None = None,
                         labels: Sequence[str] | None = None, **options: Any) -> SitingModel:
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
        import scipy.sparse as sp  # noqa: PLC0415 - loaded on first solve, not at server start

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
                  max_snap_m: float = MAX_SNAP_M, seed: int = 0, deadline: float | None = None,
                  **options: Any) -> SitingModel:
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
        deadline
            A `time.perf_counter` value the travel times must be done by (a request's budget;
            `InputError` past it); None: no bound.
        options
            Solver options, as for `from_cost_matrix`.
        """
        t0 = time.perf_counter()
        service_time = cls._check_city_args(mode, direction, minutes)
        graph = city.graph(mode)
        if region is not None and (not isinstance(region, shapely.Geometry) or region.is_empty):
            msg = "the region must be a non-empty polygon"
            raise InputError(msg)
        d = snap_demand(city, graph, demand, source=demand_source, options=demand_options, region=region,
                        clip_demand=clip_demand, max_snap_m=max_snap_m, mode=mode)
        info = SiteInfo(demand_points=d.points, demand_rows=len(d.nodes), dropped_points=d.dropped_points,
                        dropped_weight=d.dropped_weight, mode=mode, direction=direction)
        cols = site_columns(city, graph, existing, candidates, labels=candidate_labels, region=region,
                            spacing=grid_spacing_m, max_candidates=max_candidates, seed=seed, max_snap_m=max_snap_m,
                            mode=mode)
        sites = Sites(labels=cols.labels, fixed=np.arange(len(cols.node)) < cols.existing, lat=cols.lat,
                      lon=cols.lon, node=cols.node)
        info.candidates = len(cols.node) - cols.existing
        info.existing = cols.existing
        cls._check_p(p, info.candidates)
        t1 = time.perf_counter()
        cover, cost = travel_times(graph, cols.node, d.nodes, service_time, direction=direction,
                                   with_cost=cls.name == "pmedian", deadline=deadline)
        info.matrix_seconds = time.perf_counter() - t1
        points = Points(lat=d.lat, lon=d.lon, weight=d.weight, row=d.row, **precincts_of(city, d.lat, d.lon))
        logger.info("%s instance: %d demand points on %d nodes, %d candidates, %d existing; matrix %.2f s, "
                    "set-up %.2f s", cls.name, len(d.lat), len(d.nodes), info.candidates, info.existing,
                    info.matrix_seconds, time.perf_counter() - t0)
        return cls(d.row_weight, sites, cover=cover, cost=cost, p=p, service_time=service_time, points=points,
                   info=info, **options)

    # -- checks ---------------------------------------------------------------------
    @classmethod
    def _check_city_args(cls, mode: str, direction: str, minutes: float | None) -> float | None:
        """Check ``from_city``'s mode, direction and threshold; returns ``T`` in seconds."""
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
        return service_time

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
    def solve(self) -> SitingModel:
        """Solve; returns the model with `solution` (and `result`) set."""
        self.solution = self._solve(self.p)
        self._marginal_steps = self._marginals()
        s = self.solution
        logger.info("%s solved (%s, %s): objective %.6g, gap %s, %.2f s", self.name, s.method, s.status,
                    s.objective, "n/a" if s.gap is None else f"{s.gap:.2%}", s.seconds)
        return self

    def _solve(self, p: int | None) -> Solution:
        raise NotImplementedError

    @property
    def result(self) -> Solution:
        """The solution; `RuntimeError` before `solve()`."""
        if self.solution is None:
            msg = "call solve() first"
            raise RuntimeError(msg)
        return self.solution

    @property
    def chosen(self) -> np.ndarray:
        """Indices of the new sites chosen."""
        return np.flatnonzero(self.result.y & ~self.sites.fixed)

    @property
    def objective(self) -> float:
        return self.result.objective

    def _require_cover(self) -> sp.csr_matrix:
        """The coverage matrix (`_check` makes sure the models that need one have it)."""
        if self.cover is None:
            msg = f"{self.name} needs a travel-time threshold"
            raise InputError(msg)
        return self.cover

    def _require_p(self, p: int | None) -> int:
        """``p`` for the models that need one (`_check` makes sure they have it)."""
        if p is None:
            msg = f"{self.name} needs p, a whole number of new posts"
            raise InputError(msg)
        return p

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
        if self.marginal == "resolve" and self.needs_p and self.p is not None:
            prev = self._score(base)
            for k in range(1, int(self.p) + 1):
                sol = self.result if k == self.p else self._solve(k)
                score = self._score(sol.y)
                steps.append({"p": k, "sites": [self.sites.labels[j] for j in np.flatnonzero(sol.y & ~base)],
                              "value": score, "gain": score - prev, "objective": sol.objective})
                prev = score
            return steps
        # Greedy order of the chosen sites: each step adds the chosen site that helps most.
        y = base.copy()
        prev = self._score(y)
        while chosen:
            best, best_score = self._next_best(y, chosen)
            chosen.remove(best)
            y[best] = True
            steps.append({"p": len(steps) + 1, "sites": [self.sites.labels[best]], "value": best_score,
                          "gain": best_score - prev})
            prev = best_score
        return steps

    def _next_best(self, y: np.ndarray, chosen: list[int]) -> tuple[int, float]:
        """The site of ``chosen`` whose opening on top of ``y`` scores best (the first on a tie)."""
        scored = []
        for j in chosen:
            y[j] = True
            scored.append((j, self._score(y)))
            y[j] = False
        best, best_score = scored[0]
        for j, s in scored[1:]:
            if self._better(s, best_score):
                best, best_score = j, s
        return best, best_score

    def _better(self, a: float, b: float | None) -> bool:
        return b is None or a > b

    def to_dict(self, *, max_points: int = 2000) -> dict[str, Any]:
        """The results: chosen sites, coverage before/after, per precinct, uncovered demand,
        marginal gains, objective, gap and solve time."""
        s = self.result
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
            out.update(self._point_report(self.points, s.y, max_points))
        return out

    def _cov(self, y: np.ndarray, times: int = 1) -> dict[str, float]:
        rows = self.covered_rows(y, times)
        weight = float(self.weights[rows].sum())
        total = float(self.weights.sum())
        return {"weight": weight, "share": weight / total if total else 0.0}

    def _site(self, j: int | np.integer) -> dict[str, Any]:
        d: dict[str, Any] = {"label": self.sites.labels[j], "index": int(j)}
        lat, lon, node = self.sites.lat, self.sites.lon, self.sites.node
        if lat is not None and lon is not None and node is not None:  # sites from a city
            d["lat"] = round(float(lat[j]), 7)
            d["lon"] = round(float(lon[j]), 7)
            d["node"] = int(node[j])
        return d

    def _point_report(self, pts: Points, y: np.ndarray, max_points: int) -> dict[str, Any]:
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


def read_cost_matrix(path: Any) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Read the second door's CSV: a demand id column, an optional ``weight`` column, and
    one column per candidate site (travel times from another engine; empty = unreachable).

    Returns
    -------
    matrix, weights, site labels
    """
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
