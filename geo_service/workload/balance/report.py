"""The balance result and its figures: before/after measures, reasons for precincts outside the
band, the held-back groups, polygons; and the posts and inspectors read from the city."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from pyproj import Transformer

from geo_service.errors import InputError
from geo_service.network.geodesy import from_utm, utm_crs
from geo_service.workload.balance.bounds import balance_bound, merged_reach, ways_out
from geo_service.workload.balance.problem import BlockProblem
from geo_service.workload.balance.search import limited_groups, target_levels
from geo_service.workload.indicators import gini, max_min_ratio

if TYPE_CHECKING:
    from geo_service.bundle import CityBundle
    from geo_service.siting.demand import Demand


@dataclass
class BalanceResult:
    """A balanced proposal and the baseline it is compared with.

    Attributes
    ----------
    units
        One row per precinct proposed: ``precinct_id, post_ids, inspectors, target``, and
        for ``before`` and ``after``: ``load``, ``per_inspector`` (1.0: the city's
        average inspector), ``residents``, ``area_km2``, ``blocks``, ``max_travel_min``.
    blocks
        One row per block: ``block, lat, lon, residents, area_km2, road_km, load,
        before, after`` (precinct ids; empty when no post reaches the block).
    summary
        ``before``/``after`` figures (``max_min_ratio``, ``gini``, ``max_travel_min``,
        ``within_tolerance``; after ``grow``/``mip`` also ``out_of_band``: precinct id ->
        short reason, and when some precinct cannot reach its band ``held_back``: the
        precincts that keep what they have, ``below_band_groups``: neighbouring precincts
        below the band with their inspectors, ``work_for_inspectors`` and
        ``reach_as_one``, ``ways_out``, ``shortfall`` and ``shortfall_bound``,
        ``others_level``, ``others_within_tolerance`` and
        ``others_max_min_ratio`` for the rest, balanced against the level they share;
        ``beyond_band`` and ``beyond_band_lower_bound``, ``squared_excess`` and
        ``squared_excess_lower_bound``, ``extra_travel`` (before too: how much farther
        than the nearest post the blocks' posts are, `extra_travel`), and with the
        extra-travel rule ``blocks_breaking_rule``),
        ``moved_blocks``,
        ``moved_residents``, ``contiguous``, ``start`` and ``candidates`` (the starts tried
        and their figures), timings.
    node_precinct
        Precinct index (row of ``units``) of every walking-graph node after balancing
        (nodes no post reaches take the nearest assigned node's precinct).
    polygons
        ``precinct_id, name, source ('proposed'), post_id, geometry`` (EPSG:4326), like
        ``city.precincts``; None when not built.
    problem
        The block problem solved (loads, targets, travel times, the posts' blocks, what
        each post may take), for studies such as the bound under other rules; not in
        `to_dict`. None for the ``voronoi`` method.
    """

    units: pd.DataFrame
    blocks: pd.DataFrame
    summary: dict[str, Any]
    node_precinct: np.ndarray = field(repr=False)
    polygons: pd.DataFrame | None = field(default=None, repr=False)
    problem: BlockProblem | None = field(default=None, repr=False)

    def moved(self) -> pd.DataFrame:
        """The blocks whose precinct changes: ``block, lat, lon, residents, before, after``."""
        b = self.blocks
        return b.loc[b.before != b.after, ["block", "lat", "lon", "residents", "before", "after"]]

    def to_dict(self, *, geometry: bool = True) -> dict[str, Any]:
        """JSON-ready: summary, precincts, moved blocks and (optionally) polygons as GeoJSON."""
        units = self.units.replace({np.nan: None}).to_dict(orient="records")
        moved = self.moved().round({"lat": 6, "lon": 6, "residents": 1}).to_dict(orient="records")
        out: dict[str, Any] = {"summary": self.summary, "precincts": units, "moved_blocks": moved}
        if geometry and self.polygons is not None:
            out["geojson"] = {"type": "FeatureCollection", "features": [
                {"type": "Feature", "id": r.precinct_id, "geometry": json.loads(shapely.to_geojson(r.geometry)),
                 "properties": {"precinct_id": r.precinct_id, "post_id": r.post_id, "source": r.source}}
                for r in self.polygons.itertuples(index=False)]}
        return out


def out_of_band_reasons(lab: np.ndarray, pb: BlockProblem, unit_ids: list[str], *,
                         cluster_min: float = 10.0) -> dict[str, str]:
    """A short reason for each precinct left outside the band (block labels ``lab``)."""
    n_units = len(pb.target)
    ok = lab >= 0
    dev = np.bincount(lab[ok], weights=pb.load[ok], minlength=n_units) / pb.target - 1
    coo = pb.adj.tocoo()
    cross = ok[coo.row] & ok[coo.col] & (lab[coo.row] != lab[coo.col])
    nb: dict[int, set[int]] = {}
    outer: dict[int, set[int]] = {}  # blocks of other precincts along each precinct's border
    for a, b, cb in zip(lab[coo.row[cross]].tolist(), lab[coo.col[cross]].tolist(), coo.col[cross].tolist()):
        nb.setdefault(a, set()).add(b)
        outer.setdefault(a, set()).add(cb)
    posts = set(pb.post_block.tolist())
    out: dict[str, str] = {}
    for u in np.flatnonzero(np.abs(dev) > pb.tol + 1e-9).tolist():
        near = [v for v in range(n_units)
                if v != u and pb.time_min[u, pb.post_block[v]] <= cluster_min]
        others = nb.get(u, set())
        if dev[u] < 0:
            if not others:
                why = "cannot grow: no neighbouring precinct (closed in by hard borders)"
            elif outer.get(u, set()) <= posts:
                why = "cannot grow: closed in by other posts (every way out passes another post's block)"
            elif all(dev[v] <= pb.tol for v in others):
                why = "cannot grow: surrounded by precincts at or below their target"
            else:
                why = "cannot grow: the overloaded neighbours' border blocks lie on the way to their posts"
        elif not others:
            why = "cannot shed: no neighbouring precinct (closed in by hard borders)"
        elif all(dev[v] >= -pb.tol for v in others):
            why = "cannot shed: surrounded by precincts at or above their target"
        else:
            why = "cannot shed: its border blocks lie on the way to its post or the neighbours cannot take them"
        if near:
            why += f"; post cluster ({len(near)} other post(s) within {cluster_min:.0f} min walk)"
        out[unit_ids[u]] = why
    return out

# --------------------------------------------------------------------------------- main
def posts_frame(city: CityBundle, posts: pd.DataFrame | None) -> pd.DataFrame:
    """The posts checked (``lat``, ``lon``) with ``post_id`` and ``precinct_id`` filled in."""
    p = city.posts if posts is None else posts
    for col in ("lat", "lon"):
        if col not in p.columns:
            msg = "posts need lat and lon columns"
            raise InputError(msg)
    if len(p) == 0:
        msg = "no posts to build precincts around"
        raise InputError(msg)
    p = p.reset_index(drop=True).copy()
    if "post_id" not in p.columns:
        p["post_id"] = [f"post-{i + 1}" for i in range(len(p))]
    if "precinct_id" not in p.columns:
        p["precinct_id"] = ""
    lat = pd.to_numeric(p["lat"], errors="coerce").to_numpy(dtype=np.float64)
    lon = pd.to_numeric(p["lon"], errors="coerce").to_numpy(dtype=np.float64)
    if not (np.isfinite(lat) & np.isfinite(lon)).all():
        msg = "every post needs a latitude and longitude"
        raise InputError(msg)
    p["lat"], p["lon"] = lat, lon
    return p


def post_inspectors(city: CityBundle, posts: pd.DataFrame, inspectors_per_post: Any) -> np.ndarray:
    """Inspectors per post: as given (a mapping or one number per post), else the roster's
    of the post's precinct (1 where it has none)."""
    if inspectors_per_post is None:
        counts = city.roster["precinct_id"].astype(str).value_counts()
        n = np.array([int(counts.get(str(pid), 0)) for pid in posts["precinct_id"]], dtype=np.float64)
        return np.where(n > 0, n, 1.0)
    if isinstance(inspectors_per_post, dict):
        n = np.array([float(inspectors_per_post.get(str(pid), 1)) for pid in posts["post_id"]])
    else:
        n = np.asarray(inspectors_per_post, dtype=np.float64).ravel()
        if len(n) != len(posts):
            msg = f"inspectors_per_post has {len(n)} values for {len(posts)} posts"
            raise InputError(msg)
    if not (np.isfinite(n).all() and (n > 0).all()):
        msg = "every post needs a positive number of inspectors"
        raise InputError(msg)
    return n


def figures(node_lab: np.ndarray, node_ld: np.ndarray, target: np.ndarray, insp: np.ndarray,
             node_time: np.ndarray, tol: float) -> dict[str, Any]:
    """Balance figures of a node labelling: max/min ratio and Gini of the load per inspector,
    the largest deviation, the precincts within the tolerance, the largest and mean travel."""
    n_units = len(target)
    ok = node_lab >= 0
    ul = np.bincount(node_lab[ok], weights=node_ld[ok], minlength=n_units)
    per = (ul / insp) / (ul.sum() / insp.sum())
    dev = ul / target - 1
    t = np.where(ok, node_time[np.maximum(node_lab, 0), np.arange(len(node_lab))], np.nan)
    t = t[np.isfinite(t)]
    return {"max_min_ratio": round(max_min_ratio(per), 4), "gini": round(gini(per), 4),
            "max_deviation": round(float(np.max(np.abs(dev))), 4),
            "within_tolerance": int((np.abs(dev) <= tol + 1e-9).sum()),
            "max_travel_min": round(float(t.max()) if len(t) else float("nan"), 1),
            "mean_travel_min": round(float(t.mean()) if len(t) else float("nan"), 2)}


def majority(node_lab: np.ndarray, node_block: np.ndarray, n_blocks: int, n_units: int) -> np.ndarray:
    """Each block's most common node label (-1 when none of its nodes is assigned)."""
    ok = node_lab >= 0
    if not ok.any():
        return np.full(n_blocks, -1, dtype=np.int64)
    counts = sp.csr_matrix((np.ones(int(ok.sum())), (node_block[ok], node_lab[ok])), shape=(n_blocks, n_units))
    lab = np.asarray(counts.argmax(axis=1)).ravel().astype(np.int64)
    lab[np.asarray(counts.sum(axis=1)).ravel() == 0] = -1
    return lab


def limited_figures(lab: np.ndarray, node_lab: np.ndarray, node_ld: np.ndarray, pb: BlockProblem, insp: np.ndarray,
                     limited: np.ndarray, unit_ids: list[str], *, time_limit: float,
                     max_groups: int = 5, reach: np.ndarray | None = None,
                     bound_time_limit: float = 10.0) -> tuple[dict[str, Any], list[str]]:
    """The precincts held back, the groups below the band, and the balance of the others
    against their level; and the ids of the others within the tolerance of that level."""
    n_units = len(pb.target)
    ok = node_lab >= 0
    ul = np.bincount(node_lab[ok], weights=node_ld[ok], minlength=n_units)
    per_insp = ul.sum() / insp.sum()  # the city's load per inspector
    levels = target_levels(lab, pb, insp, limited)
    below = ul < (1 - pb.tol) * pb.target - 1e-9
    groups = sorted(limited_groups(lab, pb.adj, below), key=lambda g: -len(g))
    out_groups = []
    for k, grp in enumerate(groups):
        reach_one = sbound = None
        if k < max_groups and not below.all():
            reach_one = round(merged_reach(lab, pb, grp, time_limit=time_limit), 3)
            sbound = balance_bound(pb, group=grp, reach=reach, time_limit=bound_time_limit)
        out_groups.append({
            "precincts": [unit_ids[i] for i in grp],
            "inspectors": float(insp[grp].sum()),
            "work_for_inspectors": round(float(ul[grp].sum() / per_insp), 2),
            "reach_as_one": reach_one,
            "ways_out": ways_out(lab, pb, grp),
            # Sum over its precincts of the share of their target they fall short of the band.
            "shortfall": round(float(np.maximum((1 - pb.tol) - ul[grp] / pb.target[grp], 0).sum()), 4),
            "shortfall_bound": None if sbound is None else round(sbound, 4),
        })
    rest = ~limited
    out: dict[str, Any] = {
        "held_back": [unit_ids[i] for i in np.flatnonzero(limited)],
        "below_band_groups": out_groups,
    }
    at_level = rest & (np.abs(ul / levels - 1) <= pb.tol + 1e-9)
    if rest.any():
        out["others_level"] = round(float(levels[rest][0] / insp[rest][0] / per_insp), 3)
        out["others_within_tolerance"] = int(at_level.sum())
        out["others_max_min_ratio"] = round(max_min_ratio(ul[rest] / insp[rest]), 4)
    return out, [unit_ids[i] for i in np.flatnonzero(at_level)]


def precinct_polygons(city: CityBundle, node_lab: np.ndarray, demand: Demand, unit_ids: list[str],
              unit_posts: list[list[str]]) -> pd.DataFrame:
    """Voronoi cells of the labelled nodes and demand points, united per precinct."""
    g = city.walk
    d_nodes, _ = g.snap_many(demand.lat, demand.lon)
    lon = np.concatenate([g.lon, demand.lon])
    lat = np.concatenate([g.lat, demand.lat])
    label = np.concatenate([node_lab, node_lab[d_nodes]])
    keep = label >= 0
    lon, lat, label = lon[keep], lat[keep], label[keep]
    minlon, minlat, maxlon, maxlat = city.manifest["bbox"]
    crs = utm_crs((minlon + maxlon) / 2, (minlat + maxlat) / 2)
    x, y = Transformer.from_crs(4326, crs, always_xy=True).transform(lon, lat)
    xy, idx = np.unique(np.round(np.column_stack([x, y]), 1), axis=0, return_index=True)
    label = label[idx]
    hull = shapely.buffer(shapely.concave_hull(shapely.multipoints(xy), ratio=0.05), 300.0)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(xy), extend_to=hull.envelope,
                                                       ordered=True))
    rows = []
    for k in np.unique(label).tolist():
        region = shapely.intersection(shapely.coverage_union_all(cells[label == k]), hull)
        if not region.is_empty:
            rows.append((unit_ids[k], unit_posts[k][0], region))
    geoms = shapely.make_valid(from_utm(np.array([r[2] for r in rows], dtype=object), crs))
    return pd.DataFrame({"precinct_id": [r[0] for r in rows], "name": [f"Proposed precinct {r[0]}" for r in rows],
                         "source": "proposed", "post_id": [r[1] for r in rows], "geometry": geoms})
