"""The residents' page of a precinct (open reporting, no personal data): ``/p/<precinct_id>``."""

from __future__ import annotations

import math
import re
from datetime import timedelta

from flask import Response, request

from geo_service import clock, pages
from geo_service.errors import GeoServiceError, NotFound
from geo_service.lookup.service import Lookup
from geo_service.web.context import appeal_store, get_city
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

# -- public precinct page -------------------------------------------------------------------------
#: The shape of a precinct id in a URL (anything else names no precinct).
_PRECINCT_ID = re.compile(r"^[\w.\-]{1,80}$")


@bp.get("/p/<precinct_id>")
@access("public")
def public_precinct(precinct_id: str) -> Response:
    """The residents' page of a precinct: inspector, post, reception hours, last month's figures."""
    lang = page_lang()
    try:
        if not _PRECINCT_ID.match(precinct_id):
            msg = "no such precinct"
            raise NotFound(msg)
        city = get_city()
        lookup = city.cached("lookup", lambda: Lookup(city))
        i = lookup.index_of(precinct_id)
        pid = str(lookup.ids[i])
        tiles = base_tiles(city)
        index = None if tiles else city.cached("roads_index", lambda: pages.RoadIndex(
            city.cached("roads_geojson", lambda: pages.roads_geojson(city.walk))))
        start, end = last_month()
        store = appeal_store()
        appeals = store.frame(start=start, end=end, precinct_id=pid)
        from geo_service.appeals.store import processing_times  # noqa: PLC0415 - SQLAlchemy (start-up time)

        times = processing_times(appeals)
        row = times.iloc[0] if len(times) else None
        median = float(row["first_contact_median_h"]) if row is not None else None
        figures = {"received": int(row["received"]) if row is not None else 0,
                   "closed": int(row["closed"]) if row is not None else 0,
                   "first_contact_median_h": median if median is not None and not math.isnan(median) else None,
                   "visits": store.visits_made(start=start, end=end, precinct_id=pid)}
        body = pages.public_precinct_page(city, lookup.precinct_info(i), lookup.precinct_feature(i), figures,
                                          lang=lang, period=(start, end - timedelta(days=1)),
                                          generated=clock.today().isoformat(), static_url=static_url(),
                                          road_index=index, tiles=tiles, api_url=request.script_root + API_URL)
    except GeoServiceError as exc:
        return error_page(exc, lang, not_found="err_precinct_not_found")
    return html_page(body, lang)
