"""Pages anyone opens: home, the precinct map, the API docs, the service worker, the base map's tiles."""

from __future__ import annotations

import gzip
from typing import Any
from urllib.parse import quote

from flask import Response, current_app, request

from geo_service import pages
from geo_service.errors import NotFound
from geo_service.lookup.service import Lookup
from geo_service.web.context import get_city
from geo_service.web.security import access
from geo_service.web.static_assets import IMMUTABLE, STATIC_EXT, accepts
from geo_service.web.views.page_kit import (
    API_URL,
    base_tiles,
    bp,
    bundle_version,
    html_page,
    page_lang,
    static_url,
    tile_archive,
)


@bp.get("/")
@access("public")
def home() -> Response:
    """Home page: what the service does, links to the pages, language switch."""
    lang = page_lang()
    city = current_app.extensions.get("geo_service")
    return html_page(pages.home_page(lang=lang, city=city.manifest if city is not None else None,
                                 static_url=static_url(), api_url=request.script_root + API_URL), lang)


@bp.get("/precincts/map")
@access("public")
def precincts_map() -> Response:
    """All precincts coloured; click one for its inspector card; search an address."""
    lang = page_lang()
    city = get_city()
    static = static_url()
    api_url = request.script_root + API_URL

    lookup = city.cached("lookup", lambda: Lookup(city))
    public_url = request.script_root + "/p/"
    tiles = base_tiles(city)
    # With tiles the page draws the precincts from them: only the posts (markers) come from here.
    precincts = (lambda: _posts_only(lookup)) if tiles else lookup.precincts_geojson
    body = city.cached(f"page:precincts:{lang}:{static}:{api_url}", lambda: pages.precinct_page(
        city, precincts(), lang=lang, static_url=static, api_url=api_url,
        roads=None if tiles else city.cached("roads_geojson", lambda: pages.roads_geojson(city.walk)),
        public_url=public_url, tiles=tiles))
    return html_page(body, lang)


def _posts_only(lookup: Lookup) -> dict[str, Any]:
    """The precincts' ids and posts, no geometries (what the tiled precinct map puts in the page)."""
    features = []
    for i in range(len(lookup.ids)):
        info = lookup.precinct_info(i)
        features.append({"type": "Feature", "geometry": None,
                         "properties": {**info["precinct"], "post": info["post"]}})
    return {"type": "FeatureCollection", "features": features}


@bp.get("/api/v1/docs")
@access("public")
def api_docs() -> Response:
    """Swagger UI over ``/api/v1/openapi.json`` (served from vendored files)."""
    lang = page_lang()
    spec = request.script_root + API_URL + "/openapi.json"
    return html_page(pages.api_docs_page(lang=lang, spec_url=spec, static_url=static_url()), lang)


@bp.get("/favicon.ico")
@access("public")
def favicon() -> Response:
    """No icon (204): browsers ask for one by themselves; a 404 would be a console error."""
    resp = Response(status=204)
    resp.headers["Cache-Control"] = "public, max-age=86400"
    return resp


@bp.get("/sw.js")
@access("public")
def service_worker() -> Response:
    """The service worker: keeps the app shell and opened pages for offline use (scope ``/``)."""
    hashed = current_app.extensions[STATIC_EXT]
    resp = Response(pages.service_worker_js(static_url=static_url(), url_of=hashed.url), mimetype="text/javascript")
    resp.headers["Service-Worker-Allowed"] = "/"
    resp.headers["Cache-Control"] = "no-cache"  # browsers must see a new version at once
    return resp


@bp.get("/tiles/<version>/<int:z>/<int:x>/<int:y>.mvt")
@access("public")
def tiles(version: str, z: int, x: int, y: int) -> Response:
    """A base map tile (Mapbox Vector Tile; 204 where the city has no data).

    The bundle's version is in the URL, so a tile is cached for a year; a page of an older
    bundle gets the current tile, revalidated.
    """
    city = get_city()
    archive = tile_archive(city)
    if archive is None:
        msg = "this bundle has no base map tiles; fix: rebuild it with geo-service build"
        raise NotFound(msg)
    data = archive.tile(z, x, y)
    resp = Response(status=204 if data is None else 200, mimetype="application/vnd.mapbox-vector-tile")
    resp.headers["Cache-Control"] = IMMUTABLE if quote(version, safe="") == bundle_version(city) else "no-cache"
    resp.headers["Vary"] = "Accept-Encoding"
    resp.headers["Access-Control-Allow-Origin"] = "*"  # public data, for other map clients too
    if data is not None:
        if accepts("gzip"):
            resp.headers["Content-Encoding"] = "gzip"
        else:
            data = gzip.decompress(data)
        resp.set_data(data)
    return resp
