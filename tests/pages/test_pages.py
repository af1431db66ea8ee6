"""The pages (home, precinct map, API docs, service worker) without a browser."""

from __future__ import annotations

import json
import re
import string
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import shapely

from geo_service.pages import (
    PALETTE,
    precinct_colours,
    precinct_layer_data,
    precinct_page,
    roads_geojson,
    shell_files,
)
from geo_service.pages.i18n import LANGS, STRINGS, choose_lang, t
from geo_service.pages.kit import OSM_TILES

STATIC = Path(__file__).resolve().parents[2] / "geo_service" / "static"
URL = re.compile(r"https?://[^\s\"'`<>)\\]+")
ALLOWED_URLS = {OSM_TILES, "https://www.openstreetmap.org/copyright"}
GEOJSON_ADD = re.compile(r"(geo_json_[0-9a-f]+)_add\((\{.*?\})\);\n", re.DOTALL)


@pytest.fixture()
def pages_app(app: Any) -> Any:
    return app


@pytest.fixture()
def pclient(pages_app: Any) -> Any:
    return pages_app.test_client()


@pytest.fixture()
def inline_client(built_tiny: Path) -> Any:
    """A bundle without base map tiles: the precinct map puts every precinct into the page (#21)."""
    from geo_service import create_app
    from geo_service.ingest.tiles import TILES_FILE

    (built_tiny / TILES_FILE).unlink()
    return create_app({"BUNDLE": str(built_tiny), "TESTING": True}).test_client()


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


def _static_path(link: str) -> Path:
    """The static file a page's link names (``/static/h/<digest>/<path>`` or ``/static/<path>``)."""
    return STATIC / re.sub(r"^/static/(h/[0-9a-f]{12}/)?", "", link)


def _plain(text: str) -> str:
    """``text`` with the content-hashed static URLs written as plain ``/static/<path>``."""
    return re.sub(r"/static/h/[0-9a-f]{12}/", "/static/", text)


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
            assert _static_path(link).is_file(), link
        else:
            assert link.startswith(("?lang=", "https://www.openstreetmap.org/")), link
    assert f'<html lang="{lang}">' in html
    assert t("search_button", lang) in html and t("legend", lang) in html


def test_precinct_page_has_no_inline_event_handlers(pclient: Any) -> None:
    html = pclient.get("/precincts/map").get_data(as_text=True)
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", html)
    assert "javascript:" not in html


def test_layers_carry_only_what_the_page_shows(inline_client: Any) -> None:
    html = inline_client.get("/precincts/map?lang=en").get_data(as_text=True)
    layers = _layers(html)
    assert set(layers) == {"precincts", "posts", "roads"}  # no tiles: precincts and roads in the page
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
    assert "phone" not in _keys(layers["posts"])
    assert "GeoServiceBase.add(" not in html
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
    from geo_service.lookup.service import Lookup

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


def test_legend_labels_official_and_derived(inline_client: Any) -> None:
    html = inline_client.get("/precincts/map?lang=en").get_data(as_text=True)
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
    assert "/static/vendor/swagger-ui-dist/swagger-ui-bundle.js" in [_plain(x) for x in links]
    for link in links:
        assert _static_path(link).is_file(), link
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
    plain = [_plain(u) for u in shell]
    assert plain == shell_files("/static") and all(u.startswith("/static/h/") for u in shell)
    assert "/static/vendor/leaflet/dist/leaflet.js" in plain and "/static/app/precincts.js" in plain
    assert not [u for u in shell if "swagger" in u]
    for url in shell:
        with pclient.get(url) as asset:
            assert asset.status_code == 200, url
    assert "addEventListener(\"fetch\"" in body


def test_pages_are_public(pages_app: Any) -> None:
    from geo_service.web.security import assert_every_route_declares_access

    assert_every_route_declares_access(pages_app)
    for endpoint in ("home", "precincts_map", "api_docs", "favicon", "service_worker"):
        assert pages_app.view_functions[f"pages.{endpoint}"].access_role == "public"


def test_precinct_page_without_a_city() -> None:
    from geo_service import create_app

    app = create_app({"TESTING": True})
    client = app.test_client()
    assert client.get("/precincts/map").status_code == 503
    assert client.get("/").status_code == 200


# -- the route page ----------------------------------------------------------------------------
NAV_HOSTS = ("https://2gis.kz/geo/", "https://yandex.kz/maps/")


def _auth(app: Any, role: str, *, subject: str | None = None, precincts: tuple[str, ...] = ()) -> dict[str, str]:
    from geo_service.web.context import STORE_EXT

    _, token = app.extensions[STORE_EXT].create_credential(name=f"p-{role}-{subject}", role=role, kind="user_token",
                                                          subject=subject, precinct_ids=precincts)
    return {"Authorization": f"Bearer {token}"}


def _plan_visits() -> list[dict[str, Any]]:
    from tests.conftest import grid_latlon

    out = []
    for k, (i, j) in enumerate([(0.5, 0.2), (1.5, 0.5), (2.5, 1.2), (3, 0.3)]):
        lat, lon = grid_latlon(i, j)
        out.append({"id": f"case-{k}", "lat": lat, "lon": lon, "minutes": 10, "priority": 1,
                    "label": f"Дом {k + 1}"})
    out[1]["label"] = '</script><img src=x onerror=alert(1)>'
    return out


@pytest.fixture()
def plan_id(pages_app: Any, pclient: Any) -> str:
    inspector = _auth(pages_app, "inspector", subject="UI-1", precincts=("P-01",))
    resp = pclient.post("/api/v1/routes/plan", headers=inspector,
                        json={"inspector_id": "UI-1", "date": "2026-12-01", "visits": _plan_visits()})
    assert resp.status_code == 201, resp.json
    return resp.json["id"]


def _check_links(html: str) -> None:
    """Only vendored files load; the only outside URLs are the tile layer, the OSM credit and
    the navigation links a person taps (as <a href>)."""
    nav = set(re.findall(r'<a [^>]*href="(https://[^"]+)"', html))
    assert nav and all(u.startswith(NAV_HOSTS) for u in nav - {"https://www.openstreetmap.org/copyright"})
    loose = {u for u in URL.findall(html) if not u.startswith(NAV_HOSTS)}
    assert loose <= ALLOWED_URLS, loose - ALLOWED_URLS
    for link in re.findall(r'(?:src)="([^"]+)"', html) + re.findall(r'<link [^>]*href="([^"]+)"', html):
        assert link.startswith("/static/") and _static_path(link).is_file(), link
    assert not _handler_attributes(html) and "javascript:" not in html


def _handler_attributes(html: str) -> list[str]:
    """Inline event handler attributes (on...) of any element, found by an HTML parser."""
    from html.parser import HTMLParser

    found: list[str] = []

    class Parser(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.extend(f"{tag} {name}" for name, _ in attrs if name.startswith("on"))

    Parser().feed(html)
    return found


@pytest.mark.parametrize("lang", LANGS)
def test_route_page(pages_app: Any, pclient: Any, plan_id: str, lang: str) -> None:
    ui1 = _auth(pages_app, "inspector", subject="UI-1", precincts=("P-01",))
    resp = pclient.get(f"/routes/{plan_id}/map?lang={lang}", headers=ui1)
    assert resp.status_code == 200 and resp.headers["Content-Language"] == lang
    html = resp.get_data(as_text=True)
    _check_links(html)
    day = "2026-12-01" if lang == "en" else "01.12.2026"
    assert t("route_title", lang, date=day) in html and t("nav_yandex", lang) in html
    assert f'href="/api/v1/routes/plans/{plan_id}/gpx"' in html
    assert f'href="/api/v1/routes/plans/{plan_id}/sheet"' in html
    # Four visits, numbered in visiting order, each with three ways to navigate.
    assert html.count('class="gs-nav gs-nav-geo" href="geo:') == 4
    assert html.count('href="https://2gis.kz/geo/') == 4 and html.count("&amp;rtt=pd") == 4
    assert [int(n) for n in re.findall(r'data-stop="(\d+)"', html)] == [1, 2, 3, 4]
    assert "Дом 1" in html and "<img src=x" not in html and "</script><img" not in html
    records = pages_app.extensions["geo_service.store"].audit_records()
    assert any(r["action"] == "plan.page" and r["record_id"] == plan_id and r["outcome"] == "ok" for r in records)


def test_route_page_embeds_only_what_it_shows(pages_app: Any, pclient: Any, plan_id: str) -> None:
    ui1 = _auth(pages_app, "inspector", subject="UI-1", precincts=("P-01",))
    html = pclient.get(f"/routes/{plan_id}/map?lang=en", headers=ui1).get_data(as_text=True)
    layers = [json.loads(text) for _, text in GEOJSON_ADD.findall(html)]
    points = [f for d in layers for f in d.get("features", []) if f["geometry"]["type"] == "Point"]
    stops = [f for f in points if "n" in f["properties"]]
    assert [f["properties"]["n"] for f in stops] == [1, 2, 3, 4]
    assert all(set(f["properties"]) == {"n", "label"} for f in stops)
    posts = [f for f in points if "n" not in f["properties"]]
    assert len(posts) == 1 and set(posts[0]["properties"]) == {"name"}
    features = [f for d in layers for f in d.get("features", [d])]
    lines = [f for f in features if f["geometry"]["type"] == "MultiLineString"]
    assert len(lines) == 1 and all(f["properties"] == {} for f in lines)  # the route (roads come as tiles)
    assert "GeoServiceBase.add(" in html and "/tiles/" in html
    polygons = [f for f in features if f["geometry"]["type"] in ("Polygon", "MultiPolygon")]
    assert len(polygons) == 1 and polygons[0]["properties"] == {}  # the precinct's boundary, no card
    for internal in ("UI-1", "inspector_id", "visit_id", "priority", "time_windows", "Участок", "+7 727", "slack",
                     "snap_m", "case-"):
        assert internal not in html, internal


def test_route_page_refuses_other_inspectors(pages_app: Any, pclient: Any, plan_id: str) -> None:
    ui2 = _auth(pages_app, "inspector", subject="UI-2", precincts=("P-02",))
    resp = pclient.get(f"/routes/{plan_id}/map?lang=kk", headers=ui2)
    assert resp.status_code == 403 and resp.mimetype == "text/html"
    html = resp.get_data(as_text=True)
    assert t("err_forbidden", "kk") in html and "Дом 1" not in html and not URL.search(html)
    assert pclient.get(f"/routes/{plan_id}/map").status_code == 401
    planner = _auth(pages_app, "planner", subject="pl")
    assert pclient.get(f"/routes/{plan_id}/map", headers=planner).status_code == 200
    missing = pclient.get("/routes/pl_000000000000000000000000/map?lang=en", headers=planner)
    assert missing.status_code == 404 and t("err_page_not_found", "en") in missing.get_data(as_text=True)
    records = pages_app.extensions["geo_service.store"].audit_records()
    assert any(r["record_id"] == plan_id and r["outcome"] == "denied" for r in records)


def test_signed_link(pages_app: Any, pclient: Any, plan_id: str) -> None:
    ui1 = _auth(pages_app, "inspector", subject="UI-1", precincts=("P-01",))
    ui2 = _auth(pages_app, "inspector", subject="UI-2", precincts=("P-02",))
    assert pclient.post(f"/api/v1/routes/plans/{plan_id}/link", headers=ui2).status_code == 403
    assert pclient.post(f"/api/v1/routes/plans/{plan_id}/link").status_code == 401
    resp = pclient.post(f"/api/v1/routes/plans/{plan_id}/link", headers=ui1)
    assert resp.status_code == 201 and resp.json["expires_in"] == 8 * 3600
    url = resp.json["url"]
    assert url.startswith("/r/") and plan_id not in url and "UI-1" not in url
    page = pclient.get(url + "?lang=ru")  # no credentials: the link is the authorisation
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    _check_links(html)
    assert f'href="{url}/gpx"' in html and f'href="{url}/sheet"' in html and "Дом 1" in html
    gpx = pclient.get(f"{url}/gpx")
    assert gpx.status_code == 200 and gpx.mimetype == "application/gpx+xml" and b"<gpx" in gpx.data
    sheet = pclient.get(f"{url}/sheet?lang=kk")
    text = sheet.get_data(as_text=True)
    assert sheet.status_code == 200 and '<html lang="kk">' in text
    assert t("sheet_cols", "kk").split("|")[1] in text and "Дом 1" in text
    # A forged or damaged link: a readable page, 403.
    bad = pclient.get(url[:-3] + "xyz?lang=en")
    assert bad.status_code == 403 and t("err_link_invalid", "en") in bad.get_data(as_text=True)
    assert pclient.get(url[:-3] + "xyz/gpx").status_code == 403
    assert pclient.get("/r/not-a-link").status_code == 404
    records = pages_app.extensions["geo_service.store"].audit_records()
    assert any(r["action"] == "read_link" and r["record_id"] == plan_id for r in records)
    assert any(r["action"] == "plan.link" and r["record_id"] == plan_id for r in records)
    # Bounded lifetimes; a bad body is refused.
    assert pclient.post(f"/api/v1/routes/plans/{plan_id}/link", headers=ui1,
                        json={"expires_in": 10 ** 9}).status_code == 400
    assert pclient.post(f"/api/v1/routes/plans/{plan_id}/link", headers=ui1, json={"x": 1}).status_code == 400
    assert pclient.post(f"/api/v1/routes/plans/{plan_id}/link", headers=ui1,
                        json={"expires_in": 60}).json["expires_in"] == 60


@pytest.mark.now("2026-12-01T09:00:00+05:00")  # the plan's day: a visit is marked made on its plan's day
def test_made_buttons_on_the_linked_page(pages_app: Any, pclient: Any, plan_id: str) -> None:
    """The phone marks a visit made with a plain form POST through its link; the form names
    the stop's number, never the caller's visit id; the page then shows it as made."""
    ui1 = _auth(pages_app, "inspector", subject="UI-1", precincts=("P-01",))
    url = pclient.post(f"/api/v1/routes/plans/{plan_id}/link", headers=ui1).json["url"]
    html = pclient.get(url + "?lang=ru").get_data(as_text=True)
    actions = re.findall(r'<form class="gs-made-form" method="post" action="([^"]+)"', html)
    assert actions == [f"{url}/stops/{n}/done?lang=ru" for n in (1, 2, 3, 4)]
    assert "case-" not in html and not _handler_attributes(html)
    resp = pclient.post(f"{url}/stops/2/done?lang=ru")
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"{url}?lang=ru#gs-stop-2")
    html = pclient.get(url + "?lang=ru").get_data(as_text=True)
    assert len(re.findall(r'class="gs-made-form"', html)) == 3
    made = re.findall(r'<p class="gs-made" data-made="1">✓ ([^<]+)</p>', html)
    assert len(made) == 1 and made[0].startswith(t("made_at", "ru", time="")[:8])
    stop2 = html.split('id="gs-stop-2"')[1].split("</li>")[0]
    assert 'data-made="1"' in stop2
    # The record behind it: the stop's visit (case-N in visiting order) made, on time.
    planner = _auth(pages_app, "planner", subject="pl")
    plan = pclient.get(f"/api/v1/routes/plans/{plan_id}", headers=planner).json
    second = [s["visit_id"] for s in plan["plan"]["stops"] if s["kind"] == "visit"][1]
    again = pclient.post(f"/api/v1/routes/plans/{plan_id}/visits/{second}/done", headers=ui1)
    assert again.status_code == 200 and again.json["on_time"] is True
    # No such stop; a forged link; the authenticated map page has no buttons (its forms could
    # not carry the bearer token).
    assert pclient.post(f"{url}/stops/9/done").status_code == 404
    assert pclient.post(f"{url[:-3]}xyz/stops/1/done").status_code == 403
    assert "gs-made-form" not in pclient.get(f"/routes/{plan_id}/map", headers=ui1).get_data(as_text=True)
    records = pages_app.extensions["geo_service.store"].audit_records()
    assert any(r["action"] == "visit.done" and r["outcome"] == "ok:link" and r["record_id"] == plan_id
               for r in records)
    # A mistaken mark is taken back from the page: its "undo" form, then the "made" button again.
    html = pclient.get(url + "?lang=kk").get_data(as_text=True)
    undo = re.findall(r'<form class="gs-undo-form" method="post" action="([^"]+)"', html)
    assert undo == [f"{url}/stops/2/undo?lang=kk"]
    resp = pclient.post(undo[0])
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"{url}?lang=kk#gs-stop-2")
    html = pclient.get(url + "?lang=kk").get_data(as_text=True)
    assert len(re.findall(r'class="gs-made-form"', html)) == 4 and "gs-undo-form" not in html
    assert pclient.post(f"{url}/stops/9/undo").status_code == 404
    # A mark made offline arrives later with the time it was made (the phone's worker sends it).
    from geo_service import clock

    with clock.frozen_at("2026-12-01T11:00:00+05:00"):
        resp = pclient.post(f"{url}/stops/3/done?lang=en", data={"done_at": "2026-12-01T09:15:00+05:00"})
    assert resp.status_code == 303
    third = [s["visit_id"] for s in plan["plan"]["stops"] if s["kind"] == "visit"][2]
    import datetime as dt

    from geo_service.web.context import appeal_store

    with pages_app.app_context():
        made_at = appeal_store().done_in_plan(inspector_id="UI-1", due={third: plan["due"][third]})
    assert made_at[third].astimezone(dt.UTC) == dt.datetime(2026, 12, 1, 4, 15, tzinfo=dt.UTC)
    # Refused: not a time, no time zone, the future, before the plan was made, another day.
    for bad in ("yesterday", "2026-12-01T09:15:00", "2099-01-01T00:00:00+00:00", "2026-11-30T09:15:00+05:00",
                "0001-01-01T00:00:00+00:00"):
        r = pclient.post(f"{url}/stops/4/done?lang=en", data={"done_at": bad})
        assert r.status_code == 400 and "text/html" in r.content_type, bad
    assert any(r["action"] == "visit.undone" and r["outcome"] == "ok:link" and r["record_id"] == plan_id
               for r in pages_app.extensions["geo_service.store"].audit_records())


def test_expired_link_gets_a_403_page(pages_app: Any, pclient: Any, plan_id: str) -> None:
    import datetime as dt

    from geo_service import clock

    ui1 = _auth(pages_app, "inspector", subject="UI-1", precincts=("P-01",))
    url = pclient.post(f"/api/v1/routes/plans/{plan_id}/link", headers=ui1, json={"expires_in": 5}).json["url"]
    assert pclient.get(url).status_code == 200
    with clock.frozen_at(clock.now() + dt.timedelta(seconds=6)):
        for lang in LANGS:
            resp = pclient.get(f"{url}?lang={lang}")
            assert resp.status_code == 403 and resp.mimetype == "text/html"
            html = resp.get_data(as_text=True)
            assert t("err_link_expired", lang) in html and "Дом 1" not in html
            assert t("err_link_renew", lang) in html and "Bearer" not in html and "/api/v1" not in html
            assert resp.headers["Cache-Control"] == "no-store"
        assert pclient.get(f"{url}/gpx").status_code == 403 and pclient.get(f"{url}/sheet").status_code == 403


@pytest.mark.now("2026-12-01T08:00:00+05:00")  # the plan's morning
def test_a_link_made_over_http_lasts_the_shift(pages_app: Any, pclient: Any, plan_id: str) -> None:
    from geo_service import clock
    from geo_service.web.security import link_lifetime

    ui1 = _auth(pages_app, "inspector", subject="UI-1", precincts=("P-01",))
    resp = pclient.post(f"/api/v1/routes/plans/{plan_id}/link", headers=ui1)
    with pages_app.app_context(), clock.frozen_at(clock.now(), ticking=False):
        plan = pages_app.extensions["geo_service.store"].get_plan(plan_id)
        want = link_lifetime(plan)
    assert resp.status_code == 201 and want > 8 * 3600
    assert abs(resp.json["expires_in"] - want) <= 2  # the shift end and a grace, not LINK_TTL
    assert pclient.post(f"/api/v1/routes/plans/{plan_id}/link", headers=ui1,
                        json={"expires_in": 600}).json["expires_in"] == 600


def test_nav_links() -> None:
    from geo_service.pages import nav_links

    links = nav_links(43.2567, 76.9286)
    assert links == {"geo": "geo:43.256700,76.928600?q=43.256700,76.928600",
                     "2gis": "https://2gis.kz/geo/76.928600,43.256700",
                     "yandex": "https://yandex.kz/maps/?rtext=~43.256700,76.928600&rtt=pd"}
    assert nav_links(43.2, 76.9, mode="drive")["yandex"].endswith("&rtt=auto")


def test_link_is_in_the_openapi_document(pclient: Any) -> None:
    doc = pclient.get("/api/v1/openapi.json").json
    assert "post" in doc["paths"]["/api/v1/routes/plans/{plan_id}/link"]


# -- the siting page -----------------------------------------------------------------------------
@pytest.fixture()
def siting_id(pages_app: Any, pclient: Any) -> str:
    resp = pclient.post("/api/v1/siting/solve", headers=_auth(pages_app, "planner", subject="pl"),
                        json={"model": "mclp", "minutes": 2, "p": 2, "existing": "posts"})
    assert resp.status_code == 201, resp.json
    return resp.json["id"]


def test_siting_page(pages_app: Any, pclient: Any, siting_id: str) -> None:
    planner = _auth(pages_app, "planner", subject="pl")
    resp = pclient.get(f"/siting/{siting_id}/map?lang=ru", headers=planner)
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert not {u for u in URL.findall(html)} - ALLOWED_URLS
    for link in re.findall(r'src="([^"]+)"', html):
        assert _static_path(link).is_file(), link
    assert "/static/vendor/leaflet.heat/leaflet_heat.min.js" in _plain(html)
    assert t("marginal_title", "ru") in html and t("existing_posts", "ru") in html
    layers = [json.loads(text) for _, text in GEOJSON_ADD.findall(html)]
    areas = [f for d in layers for f in d.get("features", []) if f["geometry"]["type"] in ("Polygon", "MultiPolygon")]
    sites = [f for d in layers for f in d.get("features", []) if f["geometry"]["type"] == "Point"]
    assert len(areas) == len(sites) == 3  # one existing post (P-01's) and two proposed
    assert sorted(f["properties"]["kind"] for f in sites) == ["existing", "proposed", "proposed"]
    assert all(set(f["properties"]) == {"kind", "label"} for f in sites)
    assert all(set(f["properties"]) == {"kind"} for f in areas)
    table = html.split('id="gs-marginal"')[1].split("</table>")[0]
    assert table.count("<tr>") == 3  # the header and p = 1, 2
    assert "%" in table
    # Planners only; an unknown result is a readable 404.
    ui1 = _auth(pages_app, "inspector", subject="UI-1", precincts=("P-01",))
    assert pclient.get(f"/siting/{siting_id}/map", headers=ui1).status_code == 403
    assert pclient.get("/siting/rs_nope/map", headers=planner).status_code == 404


def test_new_pages_declare_roles(pages_app: Any) -> None:
    roles = {"route_map": "inspector", "route_by_link": "public", "route_gpx_by_link": "public",
             "route_sheet_by_link": "public", "route_link": "inspector", "siting_map": "planner"}
    for endpoint, role in roles.items():
        assert pages_app.view_functions[f"pages.{endpoint}"].access_role == role


# -- the workload page -------------------------------------------------------------------------
def _appeal(pages_app: Any, i: float, j: float, *, received: str, contact: str | None = None,
            closed: str | None = None) -> str:
    from geo_service.appeals.store import AppealStore
    from geo_service.web.context import STORE_EXT
    from tests.conftest import grid_latlon

    store = AppealStore(pages_app.extensions[STORE_EXT], city=pages_app.extensions["geo_service"])
    lat, lon = grid_latlon(i, j)
    a = store.create(lat=lat, lon=lon, category="noise", received_at=received)
    if contact:
        store.advance(a.id, "first_contact", contact)
    if closed:
        store.advance(a.id, "closed", closed)
    return a.id


def _visits(pages_app: Any) -> None:
    """Visit records: in P-01 two preventive-register visits made last month (one late), one
    not made, one made in 2020, a domestic-violence follow-up made; one in P-02."""
    from geo_service.appeals.store import AppealStore
    from geo_service.web.context import STORE_EXT

    store = AppealStore(pages_app.extensions[STORE_EXT], city=pages_app.extensions["geo_service"])
    due = _last_month_day(10, 9)[:10]
    rows = [("r1", "P-01", 2, due), ("r2", "P-01", 2, due), ("r3", "P-01", 2, due), ("old", "P-01", 2, "2020-01-01"),
            ("dv", "P-01", 1, due), ("x", "P-02", 2, due)]
    store.record_due({"inspector_id": "UI-1" if pid == "P-01" else "UI-2", "visit_ref": ref, "due_date": d,
                      "precinct_id": pid, "priority": pr} for ref, pid, pr, d in rows)
    for ref, day in (("r1", 9), ("r2", 12), ("dv", 9)):
        store.mark_done(inspector_id="UI-1", visit_ref=ref, due_date=due, done_at=_last_month_day(day, 10))
    store.mark_done(inspector_id="UI-1", visit_ref="old", due_date="2020-01-01", done_at="2020-01-02T10:00:00+00:00")


def _last_month_day(day: int, hour: int) -> str:
    from geo_service.workload.indicators import default_period

    start, _ = default_period()
    return f"{start.isoformat()}T{hour:02d}:00:00+00:00".replace("-01T", f"-{day:02d}T")


def test_workload_page(pages_app: Any, pclient: Any) -> None:
    appeal_id = _appeal(pages_app, 1.0, 0.5, received=_last_month_day(3, 9), contact=_last_month_day(3, 13))
    planner = _auth(pages_app, "planner", subject="pl")
    resp = pclient.get("/workload/map?lang=en", headers=planner)
    assert resp.status_code == 200 and resp.headers["Content-Language"] == "en"
    html = resp.get_data(as_text=True)
    assert not set(URL.findall(html)) - ALLOWED_URLS
    for link in re.findall(r'src="([^"]+)"', html):
        assert _static_path(link).is_file(), link
    assert "/static/app/workload.js" in _plain(html) and not _handler_attributes(html)
    # The selector offers the indicators, the workload index per inspector first.
    options = re.findall(r'<option value="([a-z0-9_]+)"( selected)?>', html)
    assert [o for o, _ in options] == ["workload_per_inspector", "residents", "area_km2", "walk_mean_min", "appeals"]
    assert options[0][1] == " selected"
    # One layer of precincts with only the shown indicators; no roster column, no appeal row.
    layers = [json.loads(text) for _, text in GEOJSON_ADD.findall(html)]
    polys = [d for d in layers if d.get("features") and
             d["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")]
    assert len(polys) == 1
    features = {f["id"]: f["properties"] for f in polys[0]["features"]}
    assert set(features) == {"P-01", "P-02"}
    shown = {"id", "name", "workload_per_inspector", "workload_index", "inspectors", "residents", "addresses",
             "area_km2", "road_km", "walk_mean_min", "walk_p90_min", "appeals"}
    assert all(set(p) == shown for p in features.values())
    assert features["P-01"]["appeals"] == 1 and features["P-02"]["appeals"] == 0
    for internal in ("inspector_id", "UI-1", "phone", "Ахметов", "post_lat", "received_at", "noise", appeal_id):
        assert internal not in html, internal
    # The table is sorted by the index per inspector; the summary gives max/min and Gini.
    table = html.split('id="gs-wl-table"')[1].split("</table>")[0]
    order = re.findall(r'<tr data-precinct="([^"]+)">', table)
    by_index = sorted(features, key=lambda k: -features[k]["workload_per_inspector"])
    assert order == by_index
    assert "max / min = " in html and "Gini = " in html


def test_workload_page_is_for_planners(pages_app: Any, pclient: Any) -> None:
    assert pages_app.view_functions["pages.workload_map"].access_role == "planner"
    assert pclient.get("/workload/map").status_code == 401
    ui1 = _auth(pages_app, "inspector", subject="UI-1", precincts=("P-01",))
    assert pclient.get("/workload/map", headers=ui1).status_code == 403


# -- the public precinct page --------------------------------------------------------------------
@pytest.mark.parametrize("lang", LANGS)
def test_public_precinct_page(pages_app: Any, pclient: Any, lang: str) -> None:
    appeal_id = _appeal(pages_app, 1.0, 0.5, received=_last_month_day(3, 9), contact=_last_month_day(3, 13),
                        closed=_last_month_day(4, 9))
    _appeal(pages_app, 1.0, 0.6, received=_last_month_day(5, 9), contact=_last_month_day(5, 11))
    _appeal(pages_app, 1.0, 0.7, received="2020-01-01T09:00:00+00:00")  # not last month
    _visits(pages_app)
    resp = pclient.get(f"/p/P-01?lang={lang}")
    assert resp.status_code == 200 and resp.headers["Content-Language"] == lang
    html = resp.get_data(as_text=True)
    assert f'<html lang="{lang}">' in html
    assert not {u for u in URL.findall(html) if not u.startswith(NAV_HOSTS)} - ALLOWED_URLS
    # The post's address and the ways to it, built from its coordinates only.
    assert t("pub_directions", lang) in html and html.count('class="gs-nav gs-nav-geo" href="geo:') == 1
    assert t("pub_provisional", lang) not in html  # official precincts here
    for link in re.findall(r'src="([^"]+)"', html):
        assert _static_path(link).is_file(), link
    assert not _handler_attributes(html) and "javascript:" not in html
    # The inspector (name, rank, work phone as tel:, reception hours) and the post.
    assert 'href="tel:+77270000001"' in html
    for text in (t("fig_received", lang), t("fig_closed", lang), t("fig_first_contact", lang),
                 t("fig_visits", lang), t("print", lang), t("reception_hours", lang)):
        assert text in html, text
    figures = dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", html.split('id="gs-pub-figures"')[1]))
    assert figures[t("fig_received", lang)] == "2" and figures[t("fig_closed", lang)] == "1"
    assert figures[t("fig_first_contact", lang)] == t("hours", lang, value="3.0" if lang == "en" else "3,0")
    assert figures[t("fig_visits", lang)] == "2"  # preventive-register visits made last month in P-01
    # The map layers carry no personal data: a boundary without properties and the post's name.
    layers = [json.loads(text) for _, text in GEOJSON_ADD.findall(html)]
    props = [f.get("properties") for d in layers for f in (d.get("features") or [d])]
    assert {} in props and {"name": "P-01"} in props and all(p == {} or set(p) == {"name"} for p in props)
    for internal in ("inspector_id", "UI-1", "UI-2", "POST-P-01", "post_lat", "received_at", "noise", '"lat"',
                     appeal_id):
        assert internal not in html, internal


def test_public_page_without_appeals_and_unknown_precinct(pclient: Any) -> None:
    html = pclient.get("/p/P-02?lang=en").get_data(as_text=True)
    figures = dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", html.split('id="gs-pub-figures"')[1]))
    assert figures == {"Appeals received": "0", "Appeals closed": "0", "Time to first contact (median)": "—",
                       "Preventive visits made": "0"}
    assert t("no_post", "en") in html and t("pub_no_figures", "en") in html
    for lang in LANGS:
        resp = pclient.get("/p/P-99", headers={"Accept-Language": {"kk": "kk-KZ", "ru": "ru", "en": "en-GB"}[lang]})
        assert resp.status_code == 404 and resp.mimetype == "text/html"
        assert t("err_precinct_not_found", lang) in resp.get_data(as_text=True)
    assert pclient.get("/p/%3Cscript%3E?lang=en").status_code == 404


def test_public_page_is_linked_from_the_card(pclient: Any) -> None:
    html = pclient.get("/precincts/map?lang=en").get_data(as_text=True)
    config = json.loads(re.search(r'id="gs-config">(.*?)</script>', html).group(1))
    assert config["public"] == "/p/" and config["t"]["public_page"] == "Public page"
    assert "cfg().public + encodeURIComponent(props.id)" in (STATIC / "app" / "precincts.js").read_text()
    assert pclient.application.view_functions["pages.public_precinct"].access_role == "public"


# -- the reform dashboard -----------------------------------------------------------------------
def _points(html: str, chart: str) -> list[tuple[str, str]]:
    """(label, value) of the points of one inline SVG chart."""
    svg = html.split(f'<svg id="gs-chart-{chart}"')[1].split("</svg>", 1)[0]
    return re.findall(r'<circle class="gs-pt" [^>]*data-label="([^"]+)" data-value="([^"]+)"', svg)


@pytest.mark.parametrize("lang", LANGS)
def test_dashboard_page(pages_app: Any, pclient: Any, lang: str) -> None:
    from geo_service.appeals.store import AppealStore
    from geo_service.web.context import STORE_EXT

    # Jan: 2 appeals (contact 2 h and 4 h), Feb: none, Mar: 1 (contact 6 h); trust in two periods.
    _appeal(pages_app, 1.0, 0.5, received="2026-01-03T09:00:00+00:00", contact="2026-01-03T11:00:00+00:00",
            closed="2026-01-05T09:00:00+00:00")
    _appeal(pages_app, 1.0, 2.5, received="2026-01-04T09:00:00+00:00", contact="2026-01-04T13:00:00+00:00")
    appeal_id = _appeal(pages_app, 1.0, 0.6, received="2026-03-04T09:00:00+00:00",
                        contact="2026-03-04T15:00:00+00:00")
    store = AppealStore(pages_app.extensions[STORE_EXT], city=pages_app.extensions["geo_service"])
    with store.engine.begin() as conn:
        from sqlalchemy import insert

        conn.execute(insert(store.trust), [{"precinct_id": "P-01", "period": date(2026, 1, 1), "score": 3.0},
                                           {"precinct_id": "P-02", "period": date(2026, 1, 1), "score": 4.0},
                                           {"precinct_id": "P-01", "period": date(2026, 4, 1), "score": 3.8}])
    _visits(pages_app)
    planner = _auth(pages_app, "planner", subject="pl")
    resp = pclient.get(f"/workload/dashboard?lang={lang}", headers=planner)
    assert resp.status_code == 200 and resp.headers["Content-Language"] == lang
    html = resp.get_data(as_text=True)
    assert f'<html lang="{lang}">' in html
    # No chart library, no CDN, no script at all: the charts are server-rendered SVG.
    assert not URL.findall(html)
    assert "<script" not in html and not _handler_attributes(html)
    for link in re.findall(r'href="(/static/[^"]+)"', html):
        assert _static_path(link).is_file(), link
    for key in ("dash_title", "dash_chart_appeals", "dash_chart_contact", "dash_chart_trust", "dash_chart_visits",
                "dash_table", "dash_csv"):
        assert t(key, lang) in html, key
    assert _points(html, "appeals") == [("2026-01", "2"), ("2026-02", "0"), ("2026-03", "1")]
    assert _points(html, "contact") == [("2026-01", "3.0"), ("2026-03", "6.0")]
    assert _points(html, "trust") == [("2026-01-01", "3.50"), ("2026-04-01", "3.80")]
    # Preventive-register visits on time by month due: 2020-01 one late; last month in P-01 one
    # on time, one late, one not made, and in P-02 one not made (the follow-up is not counted).
    assert _points(html, "visits") == [("2020-01", "0"), (_last_month_day(1, 0)[:7], "25")]
    # The higher value is drawn higher (smaller y).
    chart = html.split('id="gs-chart-appeals"')[1]
    ys = [float(y) for y in re.findall(r'class="gs-pt" cx="[^"]+" cy="([^"]+)"', chart)[:3]]
    assert ys[0] < ys[2] < ys[1]
    # The per-precinct table: median and p90, every precinct (P-02 without a closing: —).
    table = html.split('id="gs-dash-table"')[1].split("</table>")[0]
    rows = {pid: re.findall(r'<td class="gs-num-cell">([^<]*)</td>', body)
            for pid, body in re.findall(r'<tr data-precinct="([^"]+)">(.*?)</tr>', table, re.DOTALL)}
    comma = "." if lang == "en" else ","
    assert rows["P-01"][:4] == ["2", "1", f"4{comma}0", f"5{comma}6"] and rows["P-02"][:2] == ["1", "0"]
    assert rows["P-02"][4:6] == ["—", "—"]
    assert rows["P-01"][6] == "25" and rows["P-02"][6] == "0"  # visits on time, %
    assert 'href="/api/v1/workload/indicators.csv"' in html
    for internal in ("inspector_id", "UI-1", "received_at", appeal_id):
        assert internal not in html, internal


def test_dashboard_without_data_and_roles(pages_app: Any, pclient: Any) -> None:
    assert pages_app.view_functions["pages.workload_dashboard"].access_role == "planner"
    assert pclient.get("/workload/dashboard").status_code == 401
    ui1 = _auth(pages_app, "inspector", subject="UI-1", precincts=("P-01",))
    assert pclient.get("/workload/dashboard", headers=ui1).status_code == 403
    html = pclient.get("/workload/dashboard?lang=en", headers=_auth(pages_app, "planner", subject="pl")).get_data(
        as_text=True)
    assert html.count('class="gs-pt"') == 0 and html.count(t("no_data", "en")) == 4
    assert html.count("<tr data-precinct=") == 2
