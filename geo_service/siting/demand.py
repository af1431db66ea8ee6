"""Demand for siting: where residents (or appeals, or incidents) are, with weights.

Residents are not in OpenStreetMap, so they are estimated (`estimate_demand`):

* per building: ``residents = area_m2 x levels x residential_share(tag) / m2_per_resident``.
  ``levels`` comes from ``building:levels`` and, when it is missing, from a default by
  building tag (`DemandOptions.default_levels`); ``residential_share`` is 1 for housing
  tags, small for mixed tags (``yes``: most untagged buildings in Kazakh cities are
  housing or sheds, so 0.5 by default) and 0 for tags nobody lives in (schools, garages,
  sheds, ...). The default of 25 m² of floor area per resident is Kazakhstan's statistic
  of about 23-25 m² of housing per person (2023), rounded.
* per address point: each address that lies in no building footprint counts
  ``residents_per_address`` (a house or a block without a mapped footprint).

Every figure is a field of `DemandOptions`, so a planner can change it per request.
A demand file (`read_demand_file`: CSV with lat/lon columns, or GeoJSON points) replaces
the estimate when the planner has real figures (population, appeals, incidents).
All functions return a `Demand` (lat, lon, weight arrays; it unpacks as a 3-tuple).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np
import pandas as pd
import shapely

from geo_service.errors import InputError, InputFileError

if TYPE_CHECKING:
    from geo_service.bundle import CityBundle

logger = logging.getLogger(__name__)

DemandSource = Literal["buildings", "addresses", "buildings+addresses"]

#: Share of a building's floor area that is lived in, by ``building`` tag.
RESIDENTIAL_SHARE: dict[str, float] = {
    "apartments": 1.0, "residential": 1.0, "house": 1.0, "detached": 1.0, "semidetached_house": 1.0,
    "terrace": 1.0, "dormitory": 1.0, "bungalow": 1.0, "cabin": 1.0, "farm": 1.0, "hut": 0.5,
    "yes": 0.5,
    "commercial": 0.05, "retail": 0.05, "office": 0.05, "mixed": 0.5,
}
#: Tags that get this share when they are in neither table (schools, garages, ...).
OTHER_SHARE = 0.0

#: Levels assumed when ``building:levels`` is missing, by tag ("*": any other tag).
DEFAULT_LEVELS: dict[str, float] = {
    "apartments": 5, "residential": 5, "dormitory": 5, "house": 1, "detached": 1,
    "semidetached_house": 2, "terrace": 2, "bungalow": 1, "cabin": 1, "hut": 1, "farm": 1,
    "yes": 2, "*": 1,
}


@dataclass
class DemandOptions:
    """How residents are estimated; every figure can be overridden."""

    #: Square metres of residential floor area per resident.
    m2_per_resident: float = 25.0
    #: Share of floor area lived in, by building tag; tags not listed get ``other_share``.
    residential_share: dict[str, float] = field(default_factory=lambda: dict(RESIDENTIAL_SHARE))
    other_share: float = OTHER_SHARE
    #: Levels when ``building:levels`` is missing, by tag ("*" for any other tag).
    default_levels: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_LEVELS))
    #: Residents counted for an address point that lies in no building footprint.
    residents_per_address: float = 3.0
    #: Levels above this are treated as errors in the data and capped.
    max_levels: float = 40.0


class Demand(NamedTuple):
    """Demand points (EPSG:4326) and their weights."""

    lat: np.ndarray
    lon: np.ndarray
    weight: np.ndarray

    @property
    def total(self) -> float:
        return float(self.weight.sum())


def _empty() -> Demand:
    return Demand(np.zeros(0), np.zeros(0), np.zeros(0))


def building_residents(buildings: pd.DataFrame, options: DemandOptions | None = None) -> np.ndarray:
    """Estimated residents of each building row (``building``, ``levels``, ``area_m2``)."""
    opt = options or DemandOptions()
    if opt.m2_per_resident <= 0:
        msg = f"m2_per_resident must be positive (got {opt.m2_per_resident})"
        raise InputError(msg)
    tags = buildings["building"].fillna("yes").astype(str).str.lower().to_numpy()
    share = np.array([opt.residential_share.get(t, opt.other_share) for t in tags], dtype=np.float64)
    default = np.array([opt.default_levels.get(t, opt.default_levels.get("*", 1.0)) for t in tags],
                       dtype=np.float64)
    levels = pd.to_numeric(buildings["levels"], errors="coerce").to_numpy(dtype=np.float64)
    levels = np.where(np.isfinite(levels) & (levels > 0), levels, default)
    levels = np.minimum(levels, opt.max_levels)
    area = pd.to_numeric(buildings["area_m2"], errors="coerce").fillna(0.0).to_numpy(dtype=np.float64)
    return np.maximum(area, 0.0) * levels * share / opt.m2_per_resident


def estimate_demand(city: CityBundle, *, source: DemandSource = "buildings+addresses",
                    options: DemandOptions | None = None, region: shapely.Geometry | None = None) -> Demand:
    """Estimate residents from a city's buildings and/or address points.

    Parameters
    ----------
    city
        A loaded city bundle.
    source
        ``buildings`` (footprint x levels), ``addresses`` (``residents_per_address`` each)
        or ``buildings+addresses`` (buildings, plus addresses outside every footprint).
    options
        The figures of the estimate (`DemandOptions`).
    region
        Keep only demand inside this polygon (EPSG:4326).
    """
    opt = options or DemandOptions()
    if source not in ("buildings", "addresses", "buildings+addresses"):
        msg = f"unknown demand source {source!r}; use buildings, addresses or buildings+addresses"
        raise InputError(msg)
    parts: list[Demand] = []
    footprints = None
    if source in ("buildings", "buildings+addresses"):
        b = city.buildings()
        if len(b):
            geoms = np.asarray(b["geometry"].to_numpy(), dtype=object)
            residents = building_residents(b, opt)
            pts = shapely.point_on_surface(geoms)
            keep = residents > 0
            parts.append(Demand(shapely.get_y(pts[keep]), shapely.get_x(pts[keep]), residents[keep]))
            footprints = geoms
    if source in ("addresses", "buildings+addresses"):
        a = city.addresses
        if len(a):
            lat = a["lat"].to_numpy(dtype=np.float64)
            lon = a["lon"].to_numpy(dtype=np.float64)
            inside = np.zeros(len(a), dtype=bool)
            if footprints is not None and source == "buildings+addresses":
                tree = shapely.STRtree(footprints)
                hit, _ = tree.query(shapely.points(lon, lat), predicate="within")
                inside[hit] = True
            keep = ~inside
            parts.append(Demand(lat[keep], lon[keep], np.full(int(keep.sum()), opt.residents_per_address)))
    demand = _concat(parts)
    if region is not None:
        demand = clip(demand, region)
    logger.info("demand from %s: %d points, %.0f residents", source, len(demand.lat), demand.total)
    return demand


def _concat(parts: list[Demand]) -> Demand:
    if not parts:
        return _empty()
    return Demand(*(np.concatenate([getattr(p, k) for p in parts]).astype(np.float64)
                    for k in ("lat", "lon", "weight")))


def clip(demand: Demand, region: shapely.Geometry) -> Demand:
    """The demand points inside ``region`` (EPSG:4326)."""
    shapely.prepare(region)
    keep = shapely.contains_xy(region, demand.lon, demand.lat)
    return Demand(demand.lat[keep], demand.lon[keep], demand.weight[keep])


def from_arrays(lat: Any, lon: Any, weight: Any | None = None) -> Demand:
    """Validate arrays into a `Demand` (weights default to 1)."""
    lat = np.asarray(lat, dtype=np.float64).ravel()
    lon = np.asarray(lon, dtype=np.float64).ravel()
    w = np.ones(len(lat)) if weight is None else np.asarray(weight, dtype=np.float64).ravel()
    if not (len(lat) == len(lon) == len(w)):
        msg = f"demand lat, lon and weight differ in length ({len(lat)}, {len(lon)}, {len(w)})"
        raise InputError(msg)
    bad = ~(np.isfinite(lat) & np.isfinite(lon) & np.isfinite(w)) | (np.abs(lat) > 90) | (np.abs(lon) > 180)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        msg = f"{int(bad.sum())} demand point(s) have missing or impossible values (first: row {k + 1})"
        raise InputError(msg)
    if (w < 0).any():
        msg = f"{int((w < 0).sum())} demand weight(s) are negative"
        raise InputError(msg)
    return Demand(lat, lon, w)


LAT_NAMES = ("lat", "latitude", "y")
LON_NAMES = ("lon", "lng", "long", "longitude", "x")


def read_demand_file(path: Path | str, *, weight: str | None = "weight") -> Demand:
    """Read demand points from CSV (lat/lon columns) or GeoJSON (Point features).

    Parameters
    ----------
    path
        ``.csv`` with columns named lat/latitude and lon/lng/longitude (any case), or
        ``.geojson``/``.json`` with Point (or MultiPoint: one row per point) features.
    weight
        The column or property holding the weight (population, appeals, incidents);
        None gives every point a weight of 1.
    """
    path = Path(path)
    if not path.is_file():
        msg = f"{path.name}: no such demand file"
        raise InputFileError(msg)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        try:
            frame = pd.read_csv(path)
        except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
            msg = f"{path.name}: cannot read the CSV ({exc})"
            raise InputFileError(msg) from exc
        cols = {c.strip().lower(): c for c in frame.columns}
        lat_col = next((cols[n] for n in LAT_NAMES if n in cols), None)
        lon_col = next((cols[n] for n in LON_NAMES if n in cols), None)
        if lat_col is None or lon_col is None:
            msg = f"{path.name}: needs lat and lon columns (found {', '.join(map(str, frame.columns))})"
            raise InputFileError(msg)
        w = None
        if weight is not None:
            if weight.lower() not in cols:
                msg = f"{path.name}: no weight column {weight!r} (found {', '.join(map(str, frame.columns))})"
                raise InputFileError(msg)
            w = pd.to_numeric(frame[cols[weight.lower()]], errors="coerce").to_numpy()
        return from_arrays(pd.to_numeric(frame[lat_col], errors="coerce").to_numpy(),
                           pd.to_numeric(frame[lon_col], errors="coerce").to_numpy(), w)
    if suffix in (".geojson", ".json"):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            msg = f"{path.name}: not valid JSON ({exc})"
            raise InputFileError(msg) from exc
        feats = doc.get("features") if isinstance(doc, dict) else None
        if not isinstance(feats, list):
            msg = f"{path.name}: not a GeoJSON FeatureCollection"
            raise InputFileError(msg)
        lat: list[float] = []
        lon: list[float] = []
        ws: list[float] = []
        for k, f in enumerate(feats):
            geom = (f or {}).get("geometry") or {}
            props = (f or {}).get("properties") or {}
            coords: list[Any] | None = [geom.get("coordinates")] if geom.get("type") == "Point" else (
                geom.get("coordinates") if geom.get("type") == "MultiPoint" else None)
            if not coords:
                msg = f"{path.name}: feature {k + 1} is not a Point"
                raise InputFileError(msg)
            if weight is not None and weight not in props:
                msg = f"{path.name}: feature {k + 1} has no {weight!r} property"
                raise InputFileError(msg)
            try:
                wv = 1.0 if weight is None else float(props[weight])
                for c in coords:
                    lon.append(float(c[0]))
                    lat.append(float(c[1]))
                    ws.append(wv)
            except (TypeError, ValueError, IndexError) as exc:
                msg = f"{path.name}: feature {k + 1} has a bad coordinate or weight"
                raise InputFileError(msg) from exc
        return from_arrays(lat, lon, ws)
    msg = f"{path.name}: demand files are .csv or .geojson"
    raise InputFileError(msg)
