"""Planner pages: the siting map, the workload map and the reform dashboard."""

from __future__ import annotations

from datetime import timedelta

from flask import Response, request

from geo_service import pages
from geo_service.errors import GeoServiceError, NotFound
from geo_service.network.reach import isochrone
from geo_service.routes.model import PREVENTIVE_REGISTER
from geo_service.web.context import appeal_store, get_city, get_store
from geo_service.web.security import access
from geo_service.web.views.page_kit import (
    API_URL,
    base_tiles,
    bp,
    error_page,
    html_page,
    last_month,
    page_lang,
    static_url,
)
from geo_service.workload import indicators as workload
from geo_service.workload.reform import city_trends, visits_on_time


# -- siting page --------------------------------------------------------------------------------
@bp.get("/siting/<result_id>/map")
@access("planner")
def siting_map(result_id: str) -> Response:
    """A kept siting result: posts, the areas they reach within T, uncovered demand, marginal gains."""
    lang = page_lang()
    try:
        kept = get_store().get_result(result_id, kind="siting")
        if kept is None:
            msg = "no siting result with this id"
            raise NotFound(msg)
        result = kept["body"]
        city = get_city()
        tiles = base_tiles(city)
        roads = None if tiles else city.cached("roads_geojson", lambda: pages.roads_geojson(city.walk))
        request_ = result.get("request") or {}
        minutes = float(request_.get("minutes") or float(result.get("service_time") or 0) / 60)
        graph = city.graph(str(request_.get("mode") or result.get("mode") or "walk"))
        sites = [*(result.get("existing") or []), *(result.get("chosen") or [])]
        areas = [isochrone(graph, float(s["lat"]), float(s["lon"]), minutes) if s.get("lat") is not None else None
                 for s in sites] if minutes > 0 else []
        body = pages.siting_page(city, result, areas, lang=lang, static_url=static_url(), roads=roads, tiles=tiles)
    except GeoServiceError as exc:
        return error_page(exc, lang)
    return html_page(body, lang)


# -- workload page ------------------------------------------------------------------------------
@bp.get("/workload/map")
@access("planner")
def workload_map() -> Response:
    """Precinct choropleth of a workload indicator, the indicator card, the table by index, the imbalance."""
    lang = page_lang()
    try:
        city = get_city()
        tiles = base_tiles(city)
        roads = None if tiles else city.cached("roads_geojson", lambda: pages.roads_geojson(city.walk))
        frame = city.cached("workload:indicators", lambda: workload.indicators(city)).copy()
        start, end = last_month()
        times = appeal_store().processing_times(start=start, end=end)
        received = dict(zip(times["precinct_id"].astype(str), times["received"].astype(int)))
        frame["appeals"] = [int(received.get(str(pid), 0)) for pid in frame["precinct_id"]]
        summary = workload.summary(frame)
        body = pages.workload_page(city, frame.to_dict("records"), summary, lang=lang,
                                   period=(start, end - timedelta(days=1)), static_url=static_url(),
                                   roads=roads, tiles=tiles)
    except GeoServiceError as exc:
        return error_page(exc, lang)
    return html_page(body, lang)


@bp.get("/workload/dashboard")
@access("planner")
def workload_dashboard() -> Response:
    """The reform's indicators: monthly trend charts (inline SVG), processing times per precinct,
    the CSV export link."""
    lang = page_lang()
    try:
        city = get_city()
        store = appeal_store()
        appeals = store.frame()
        visits = store.visit_frame()
        trends = city_trends(appeals, store.trust_scores(), visits)
        from geo_service.appeals.store import processing_times  # noqa: PLC0415 - SQLAlchemy (start-up time)

        times = processing_times(appeals)
        by_id = {str(r["precinct_id"]): r for r in times.to_dict("records")}
        on_time = visits_on_time(visits[visits["priority"] == PREVENTIVE_REGISTER])
        share = dict(zip(on_time["precinct_id"].astype(str), on_time["share_on_time"] * 100))
        rows = []
        for pid, name in zip(city.precincts["precinct_id"].astype(str), city.precincts["name"]):
            r = by_id.get(pid, {})
            rows.append({"id": pid, "name": str(name or pid), "received": r.get("received", 0),
                         "closed": r.get("closed", 0),
                         **{k: r.get(k) for k in ("first_contact_median_h", "first_contact_p90_h",
                                                   "close_median_h", "close_p90_h")},
                         "visits_on_time": share.get(pid)})
        body = pages.dashboard_page(lang=lang, city=pages.city_name(city.manifest, lang), trends=trends,
                                    rows=rows, csv_url=request.script_root + API_URL + "/workload/indicators.csv",
                                    static_url=static_url())
    except GeoServiceError as exc:
        return error_page(exc, lang)
    return html_page(body, lang)
