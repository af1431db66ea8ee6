"""A siting run as a request: the body the API and the CLI take, checked by pydantic, and
`run_siting`, which builds, solves and reports the model (the view and the CLI share it)."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Annotated, Any, Literal

import shapely
from pydantic import BaseModel, ConfigDict, Field, model_validator

from geo_service import progress
from geo_service.errors import InputError
from geo_service.jsonsafe import json_safe
from geo_service.siting import MODELS

if TYPE_CHECKING:
    from geo_service.bundle import CityBundle

#: A (lat, lon) pair in degrees, as request bodies give points.
LatLon = tuple[Annotated[float, Field(ge=-90, le=90)], Annotated[float, Field(ge=-180, le=180)]]

MAX_CANDIDATE_POINTS = 5000
#: One siting request's time budget (seconds): the travel times must be done within
#: `MATRIX_SHARE` of it and HiGHS gets what is left (at most the body's ``time_limit``, at
#: least `MIN_SOLVE_S`), so an answer comes within about 10 s (`geo-service site` shares it).
REQUEST_BUDGET_S = 8.0
MATRIX_SHARE = 0.6
MIN_SOLVE_S = 0.5


class RegionGeometry(BaseModel):
    """A GeoJSON Polygon or MultiPolygon ([lon, lat])."""

    type: Literal["Polygon", "MultiPolygon"]
    coordinates: list[Any] = Field(min_length=1)


class SitingBody(BaseModel):
    """A siting run over the loaded city's road network."""

    model_config = ConfigDict(extra="forbid")
    model: Literal["mclp", "lscp", "pmedian", "backup"] = Field(description="mclp: most residents within T with p "
                                                                "new posts; lscp: fewest posts covering all; "
                                                                "pmedian: least mean time; backup: covered twice")
    minutes: float = Field(gt=0, le=60, description="T, the travel time that counts as covered")
    p: int | None = Field(default=None, ge=1, le=200, description="new posts to open (not for lscp)")
    mode: Literal["walk", "drive"] = "walk"
    candidates: Literal["nodes", "buildings", "grid"] | list[LatLon] = Field(
        default="nodes", description="road nodes, buildings, a grid, or a planner's list of [lat, lon]")
    max_candidates: int = Field(default=2000, ge=1, le=50_000)
    existing: Literal["posts", "none"] | list[LatLon] = Field(
        default="posts", description="posts already open (fixed): the city's posts, none, or [lat, lon] points")
    region: RegionGeometry | None = Field(default=None, description="a GeoJSON Polygon or MultiPolygon geometry")
    demand_source: Literal["buildings+addresses", "buildings", "addresses"] = "buildings+addresses"
    time_limit: float = Field(default=60, gt=0, le=300, description=(
        f"solver time limit, seconds; over the API the request's budget bounds it: travel times and solver "
        f"together take at most about {REQUEST_BUDGET_S:g} s"))

    @model_validator(mode="after")
    def _check(self) -> SitingBody:
        if self.model != "lscp" and self.p is None:
            msg = "p is required for mclp, pmedian and backup"
            raise ValueError(msg)
        if isinstance(self.candidates, list) and not 1 <= len(self.candidates) <= MAX_CANDIDATE_POINTS:
            msg = f"a candidate list holds 1 to {MAX_CANDIDATE_POINTS} points"
            raise ValueError(msg)
        return self


def _region(geojson: dict[str, Any] | None) -> shapely.Geometry | None:
    if geojson is None:
        return None
    try:
        geom = shapely.from_geojson(json.dumps(geojson))
    except (shapely.errors.GEOSException, ValueError, TypeError):
        geom = None
    if geom is None or geom.geom_type not in ("Polygon", "MultiPolygon") or not geom.is_valid:
        msg = "region must be a valid GeoJSON Polygon or MultiPolygon in [lon, lat]"
        raise InputError(msg)
    return geom


def run_siting(city: CityBundle, body: SitingBody, *, budget_s: float | None = REQUEST_BUDGET_S) -> dict[str, Any]:
    """Build, solve and report one siting model (the view and the CLI share this) within
    ``budget_s`` seconds (None: the body's ``time_limit`` alone bounds the solver)."""
    t0 = time.perf_counter()
    existing: Any = {"posts": "posts", "none": None}.get(body.existing, body.existing) \
        if isinstance(body.existing, str) else body.existing
    deadline = None if budget_s is None else t0 + MATRIX_SHARE * budget_s
    progress.report("siting", 0, 2)  # a job's progress (travel times, then the solver); may cancel it
    model = MODELS[body.model].from_city(
        city, minutes=body.minutes, p=body.p, mode=body.mode, candidates=body.candidates,
        max_candidates=body.max_candidates, existing=existing,
        region=_region(body.region.model_dump() if body.region else None),
        demand_source=body.demand_source, time_limit=body.time_limit, deadline=deadline)
    if budget_s is not None:  # the solver gets what the budget leaves
        model.time_limit = min(body.time_limit, max(MIN_SOLVE_S, t0 + budget_s - time.perf_counter()))
    progress.report("siting", 1, 2)
    result = model.solve().to_dict()  # HiGHS stops mid-run when the job is cancelled (`solvers.highs`)
    progress.report("siting", 2, 2)
    result["request"] = body.model_dump(exclude={"region"}) | {"region": body.region is not None}
    result["bundle_version"] = city.manifest["bundle_version"]
    return json_safe(result)
