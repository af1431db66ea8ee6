"""The pages (home, precinct map, API docs, service worker) without a browser."""

from __future__ import annotations

import json
import re
import string
from pathlib import Path
from typing import Any

import pytest
import shapely

from geo_service.i18n import LANGS, STRINGS, choose_lang, t
from geo_service.render import (
    OSM_TILES,
    PALETTE,
    precinct_colours,
    precinct_layer_data,
    precinct_page,
    roads_geojson,
    shell_files,
)

STATIC = Path(__file__).resolve().parents[1] / "geo_service" / "static"
URL = re.compile(r"https?://[^\s\"'`<>)\\]+")
ALLOWED_URLS = {OSM_TILES, "https://www.openstreetmap.org/copyright"}
GEOJSON_ADD = re.compile(r"(geo_json_[0-9a-f]+)_add\((\{.*?\})\);\n", re.DOTALL)


@pytest.fixture()
def pages_app(app: Any) -> Any:
    if "pages" not in app.blueprints:  # until make_app registers the blueprint
        from geo_service.api.pages import bp

        app.register_blueprint(bp)
    return app


@pytest.fixture()
def pclient(pages_app: Any) -> Any:
    return pages_app.test_client()


def _layers(html: str) -> dict[str, dict[str, Any]]:
    """The GeoJSON data folium embedded, by layer: 'precincts', 'posts', 'roads'."""
    out: dict[str, dict[str, Any]] = {}
    for _, text in GEOJSON_ADD.findall(html):
        data = json.loads(text)
        features = [data] if data.get("type") == "Feature" else data["features"]
        geometry = features[0]["geometry"]["type"] if features else None
        kind = {"MultiLineString": "roads", "Point": "posts"}.get(geometry, "precincts")
        assert kind not in out, kind
        out[kind] = data
    return out


def _keys(value: Any) -> set[str]:
    """Every key anywhere in a JSON value."""
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


# -- the precinct page ---------------------------------------------------------------------
@pytest.mark.parametrize("lang", LANGS)
def test_precinct_page_loads_nothing_from_outside(pclient: Any, lang: str) -> None:
    resp = pclient.get(f"/precincts/map?lang={lang}")
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    assert resp.headers["Content-Language"] == lang
    html = resp.get_data(as_text=True)
    assert set(URL.findall(html)) <= ALLOWED_URLS, set(URL.findall(html)) - ALLOWED_URLS
    for link in re.findall(r'(?:src|href)="([^"]+)"', html):
        if link.startswith("/static/"):
            assert (STATIC / link.removeprefix("/static/")).is_file(), link
        else:
            assert link.startswith(("?lang=", "https://www.openstreetmap.org/")), link
    assert f'<html lang="{lang}">' in html
    assert t("search_button", lang) in html and t("legend", lang) in html


def test_precinct_page_has_no_inline_event_handlers(pclient: Any) -> None:
    html = pclient.get("/precincts/map").get_data(as_text=True)
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", html)
    assert "javascript:" not in html


def test_layers_carry_only_what_the_page_shows(pclient: Any) -> None:
    html = pclient.get("/precincts/map?lang=en").get_data(as_text=True)
    layers = _layers(html)
    assert set(layers) == {"precincts", "posts", "roads"}
    precincts = layers["precincts"]["features"]
    assert {f["id"] for f in precincts} == {"P-01", "P-02"}
    for f in precincts:
        props = f["properties"]
        assert set(props) == {"id", "name", "source", "inspectors", "post"}
        for ins in props["inspectors"]:
            assert set(ins) == {"name", "rank", "phone", "reception_hours"}
        assert props["post"] is None or set(props["post"]) == {"name", "address"}
    by_id = {f["id"]: f["properties"] for f in precincts}
    assert by_id["P-01"]["inspectors"][0]["phone"] == "+7 727 000 0001"
    assert by_id["P-02"]["post"] is None
    # Posts are markers: a name and the precinct to open, no phone, no roster column.
    for f in layers["posts"]["features"]:
        assert set(f["properties"]) == {"name", "precinct"}
    assert "phone" not in _keys(layers["posts"]) and "phone" not in _keys(layers["roads"])
    roads = layers["roads"]["features"] if "features" in layers["roads"] else [layers["roads"]]
    assert [f["properties"] for f in roads] == [{}]
    # Roster-internal columns and ids appear nowhere in the page.
    for internal in ("inspector_id", "post_id", "post_lat", "post_lon", "post_address", "precinct_id",
                     "UI-1", "UI-2", "POST-P-01", "osm_id"):
        assert internal not in html, internal


def test_layer_data_drops_unknown_properties() -> None:
    collection = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "id": "A", "geometry": {"type": "Point", "coordinates": [76.9, 43.2]},
        "properties": {"id": "A", "name": "A", "source": "official", "official": True, "secret": "x",
                       "inspectors": [{"id": "UI-9", "name": "N", "rank": "R", "phone": "1", "reception_hours": "H",
                                       "home_address": "private"}],
                       "post": {"id": "P", "name": "Post", "address": "Addr", "lat": 43.2, "lon": 76.9}}}]}
    data = precinct_layer_data(collection)
    assert _keys(data["features"][0]["properties"]) == {"id", "name", "source", "inspectors", "post", "rank",
                                                        "phone", "reception_hours", "address"}
    assert "private" not in json.dumps(data) and "UI-9" not in json.dumps(data)


def test_page_escapes_data(app: Any) -> None:
    from geo_service.lookup import Lookup

    city = app.extensions["geo_service"]
    collection = Lookup(city).precincts_geojson()
    evil = '</script><img src=x onerror=alert(1)>`${x}`'
    for f in collection["features"]:
        f["properties"]["name"] = evil
        for ins in f["properties"]["inspectors"]:
            ins["name"] = evil
    html = precinct_page(city, collection, lang="ru")
    assert "<img src=x" not in html and "</script><img" not in html


def test_roads_layer_is_light(app: Any) -> None:
    city = app.extensions["geo_service"]
    roads = roads_geojson(city.walk)
    lines = roads["geometry"]["coordinates"]
    assert roads["geometry"]["type"] == "MultiLineString" and lines
    minlon, minlat, maxlon, maxlat = city.manifest["bbox"]
    for line in lines:
        assert len(line) >= 2
        for lon, lat in line:
            assert round(lon, 5) == lon and round(lat, 5) == lat
            assert minlon - 1e-4 <= lon <= maxlon + 1e-4 and minlat - 1e-4 <= lat <= maxlat + 1e-4
    # Every street segment is drawn: the merged lines cover the graph's undirected length.
    drawn = shapely.length(shapely.multilinestrings([shapely.linestrings(ln) for ln in lines]))
    assert drawn > 0
    named_only = roads_geojson(city.walk, max_segments=1)
    assert 0 < len(json.dumps(named_only)) < len(json.dumps(roads))


def test_colours_tell_neighbours_apart() -> None:
    few = [shapely.box(i, 0, i + 1, 1) for i in range(5)]
    assert len(set(precinct_colours(few))) == 5
    grid = [shapely.box(i, j, i + 1, j + 1) for i in range(6) for j in range(6)]
    colours = precinct_colours(grid)
    assert set(colours) <= set(PALETTE)
    for a in range(len(grid)):
        for b in range(a + 1, len(grid)):
            if grid[a].intersects(grid[b]):
                assert colours[a] != colours[b], (a, b)


def test_legend_labels_official_and_derived(pclient: Any) -> None:
    html = pclient.get("/precincts/map?lang=en").get_data(as_text=True)
    legend = html.split('id="gs-legend"')[1].split("</details>")[0]
    assert legend.count('class="gs-legend-item"') == 2
    assert "official" in legend and "derived / provisional" not in legend  # the tiny city's are official


# -- languages -------------------------------------------------------------------------------
def test_every_text_in_three_languages() -> None:
    fields = string.Formatter()
    for key, texts in STRINGS.items():
        assert set(texts) == set(LANGS), key
        assert all(v.strip() for v in texts.values()), key
        names = {lang: {f for _, f, _, _ in fields.parse(v) if f} for lang, v in texts.items()}
        assert names["kk"] == names["ru"] == names["en"], key


@pytest.mark.parametrize(("query", "header", "expected"), [
    ("kk", "en-US,en;q=0.9", "kk"),
    ("EN", None, "en"),
    ("kz", None, "kk"),
    ("xx", "kk-KZ,ru;q=0.8", "kk"),
    (None, "de-DE,de;q=0.9,ru;q=0.5", "ru"),
    (None, "en;q=0.2,kk;q=0.9", "kk"),
    (None, "kk;q=0,en", "en"),
    (None, "fr", "ru"),
    (None, None, "ru"),
    (None, "garbage;q=abc,,", "ru"),
])
def test_choose_lang(query: str | None, header: str | None, expected: str) -> None:
    assert choose_lang(query, header) == expected


def test_language_from_the_browser(pclient: Any) -> None:
    resp = pclient.get("/precincts/map", headers={"Accept-Language": "kk-KZ,kk;q=0.9,ru;q=0.8"})
    assert resp.headers["Content-Language"] == "kk" and "Accept-Language" in resp.headers["Vary"]
    assert t("search_placeholder", "kk") in resp.get_data(as_text=True)
    assert pclient.get("/precincts/map").headers["Content-Language"] == "ru"


# -- other pages ------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", LANGS)
def test_home_page(pclient: Any, lang: str) -> None:
    html = pclient.get(f"/?lang={lang}").get_data(as_text=True)
    assert not URL.search(html)
    assert t("nav_precincts", lang) in html and t("nav_docs", lang) in html
    assert f'href="/precincts/map?lang={lang}"' in html and f'href="/api/v1/docs?lang={lang}"' in html
    assert "OpenStreetMap contributors" in html


def test_api_docs_page_uses_vendored_swagger_ui(pclient: Any) -> None:
    html = pclient.get("/api/v1/docs").get_data(as_text=True)
    assert not URL.search(html)
    links = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert "/static/vendor/swagger-ui-dist/swagger-ui-bundle.js" in links
    for link in links:
        assert (STATIC / link.removeprefix("/static/")).is_file(), link
    assert 'data-spec="/api/v1/openapi.json"' in html
    for name in ("LICENSE", "NOTICE", "swagger-ui.css"):
        assert (STATIC / "vendor" / "swagger-ui-dist" / name).is_file()


def test_favicon_is_empty(pclient: Any) -> None:
    resp = pclient.get("/favicon.ico")
    assert resp.status_code == 204 and resp.data == b""


def test_service_worker(pclient: Any) -> None:
    resp = pclient.get("/sw.js")
    assert resp.status_code == 200 and resp.mimetype == "text/javascript"
    assert resp.headers["Service-Worker-Allowed"] == "/" and resp.headers["Cache-Control"] == "no-cache"
    body = resp.get_data(as_text=True)
    shell = json.loads(re.search(r"const GS_SHELL = (\[.*?\]);", body).group(1))
    assert shell == shell_files("/static")
    assert "/static/vendor/leaflet/dist/leaflet.js" in shell and "/static/app/precincts.js" in shell
    assert not [u for u in shell if "swagger" in u]
    for url in shell:
        with pclient.get(url) as asset:
            assert asset.status_code == 200, url
    assert "addEventListener(\"fetch\"" in body


def test_pages_are_public(pages_app: Any) -> None:
    from geo_service.security import assert_every_route_declares_access

    assert_every_route_declares_access(pages_app)
    for endpoint in ("home", "precincts_map", "api_docs", "favicon", "service_worker"):
        assert pages_app.view_functions[f"pages.{endpoint}"].access_role == "public"


def test_precinct_page_without_a_city() -> None:
    from geo_service import create_app

    app = create_app({"TESTING": True})
    if "pages" not in app.blueprints:
        from geo_service.api.pages import bp

        app.register_blueprint(bp)
    client = app.test_client()
    assert client.get("/precincts/map").status_code == 503
    assert client.get("/").status_code == 200
