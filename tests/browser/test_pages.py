"""The precinct page in Chromium: polygons, inspector card, address search, offline copy.

Serves the real app (pages, lookup API, security headers with the CSP) over the tiny
test city on 127.0.0.1. Screenshots go to ``maps/screenshots/`` when
``GEO_SERVICE_SAVE_SCREENSHOTS=1``, otherwise to a temporary folder.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from geo_service import clock
from geo_service.cli.maps import CHROMIUM, DESKTOP, PHONE, serve_in_thread
from tests.conftest import TWO_PRECINCTS, grid_latlon, polygon, tiny_city_xml

if importlib.util.find_spec("playwright") is None:
    pytest.skip("playwright is not installed (pip install playwright==1.65.2)", allow_module_level=True)
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is absent (apt-get install chromium)", allow_module_level=True)

pytestmark = pytest.mark.browser

DEVICES = {"phone": PHONE, "desktop": DESKTOP}
REPO = Path(__file__).resolve().parents[2]
ROSTER = (
    "inspector_id,precinct_id,inspector_name,rank,phone,reception_hours,post_lat,post_lon,post_address\n"
    'UI-1,P-01,Серік Ахметов,майор полиции,+7 727 000 0001,Вт/Чт 17:00-20:00,{lat:.6f},{lon:.6f},"Абая 150"\n'
    "UI-2,P-02,Айгүл Сейітова,капитан полиции,+7 727 000 0002,Ср/Пт 17:00-20:00,,,\n"
)


@pytest.fixture(scope="module")
def pages_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    """The app over the tiny city (two official precincts, one post), on a free loopback port."""
    from geo_service import create_app
    from geo_service.ingest.build import BuildOptions, build_city

    d = tmp_path_factory.mktemp("pages-city")
    (d / "tiny.osm").write_text(tiny_city_xml(), encoding="utf-8")
    features = [{"type": "Feature", "properties": {"precinct_id": pid, "name": f"Участок {pid}"},
                 "geometry": {"type": "Polygon", "coordinates": polygon(*rect)}} for pid, rect in TWO_PRECINCTS.items()]
    (d / "precincts.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    lat, lon = grid_latlon(0.3, 0.3)
    (d / "roster.csv").write_text(ROSTER.format(lat=lat, lon=lon), encoding="utf-8")
    build_city(BuildOptions(osm=d / "tiny.osm", out=d / "bundle", precincts=d / "precincts.geojson",
                            roster=d / "roster.csv", city="tiny"))
    app = create_app({"BUNDLE": str(d / "bundle"), "TESTING": True, "RATELIMIT_PUBLIC": "10000/minute"})
    with serve_in_thread(app) as url:
        yield app, url


@pytest.fixture(scope="module")
def pages_url(pages_server: tuple[Any, str]) -> str:
    return pages_server[1]


@pytest.fixture(scope="module")
def shots_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("GEO_SERVICE_SAVE_SCREENSHOTS") == "1":
        path = REPO / "maps" / "screenshots"
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path_factory.mktemp("screenshots")


def _open(make: Callable[..., Any], url: str, device: str) -> Any:
    g = make(**DEVICES[device])
    g.page.goto(url, wait_until="load")
    # The precincts: drawn from the bundle's tiles (#21), or GeoJSON paths for a bundle without tiles.
    g.page.wait_for_selector(".leaflet-tile-pane canvas.leaflet-tile-loaded, "
                             ".leaflet-overlay-pane path.leaflet-interactive", state="attached")
    g.page.evaluate("document.fonts.ready.then(() => true)")
    return g


def _tap_precinct(page: Any, i: float, j: float, *, touch: bool) -> None:
    """Click (or tap) the map at grid position i, j."""
    lat, lon = grid_latlon(i, j)
    box = page.locator(".folium-map").bounding_box()
    xy = page.evaluate(
        """([lat, lon]) => { const m = document.querySelector('.folium-map');
             const id = m.id; const map = window[id];
             const p = map.latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }""", [lat, lon])
    x, y = box["x"] + xy[0], box["y"] + xy[1]
    if touch:
        page.touchscreen.tap(x, y)
    else:
        page.mouse.click(x, y)


def _wait(page: Any, expression: str, *, timeout_s: float = 10.0) -> None:
    """Poll ``expression`` until truthy (``wait_for_function`` evaluates strings, which the CSP forbids)."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        page.wait_for_timeout(100)


def _box(page: Any, selector: str) -> dict[str, float]:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, selector
    return box


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_precinct_page(guarded_page: Callable[..., Any], pages_url: str, shots_dir: Path, device: str) -> None:
    g = _open(guarded_page, f"{pages_url}/precincts/map?lang=ru", device)
    page = g.page
    assert page.evaluate("L.version") == "1.9.3"
    # The precincts and the base map drawn from the vector tiles on canvases (no precinct in the page,
    # #21), one post marker, the controls.
    assert page.locator(".leaflet-overlay-pane path.leaflet-interactive").count() == 0
    _wait(page, "document.querySelectorAll('.leaflet-tile-pane canvas.leaflet-tile-loaded').length > 0")
    assert page.locator(".leaflet-marker-pane .gs-post-icon").count() == 1
    assert page.locator(".leaflet-control-locate").count() == 0 and page.locator("#gs-here").count() == 1
    assert page.locator(".leaflet-control-zoom-fullscreen").count() == 1
    assert "OpenStreetMap contributors" in page.inner_text(".leaflet-control-attribution")
    assert page.locator("img.leaflet-tile").count() == 0  # no raster tiles until a person asks for them
    page.screenshot(path=str(shots_dir / f"precincts-{device}.png"))

    # A click on a precinct shows its inspector card.
    _tap_precinct(page, 1.0, 0.5, touch=device == "phone")
    page.wait_for_selector("#gs-card:not([hidden])")
    card = page.locator("#gs-card")
    assert "Участок P-01" in card.inner_text() and "Серік Ахметов" in card.inner_text()
    assert "майор полиции" in card.inner_text() and "Вт/Чт 17:00-20:00" in card.inner_text()
    assert card.locator("a[href='tel:+77270000001']").count() == 1
    assert "Абая 150" in card.inner_text()
    page.screenshot(path=str(shots_dir / f"precincts-{device}-card.png"))
    if device == "phone":
        # The card sits under the map, never over it; tap targets are 44 px; text 16 px.
        assert _box(page, ".folium-map")["y"] + _box(page, ".folium-map")["height"] <= _box(page, "#gs-card")["y"] + 1
        assert _box(page, ".folium-map")["height"] >= 300
        for sel in ("#gs-go", "#gs-q", ".gs-lang a", ".gs-close", ".leaflet-control-zoom-in",
                    ".leaflet-control-layers-toggle", ".gs-tel"):
            box = _box(page, sel)
            assert box["height"] >= 44 and box["width"] >= 44, (sel, box)
        assert page.evaluate("getComputedStyle(document.querySelector('#gs-q')).fontSize") == "16px"
    page.click(".gs-close")
    assert page.locator("#gs-card").is_hidden()

    # The other precinct: no post given.
    _tap_precinct(page, 1.0, 2.5, touch=device == "phone")
    page.wait_for_selector("#gs-card:not([hidden])")
    assert "Айгүл Сейітова" in page.inner_text("#gs-card")
    assert "Пункт не указан." in page.inner_text("#gs-card")
    assert g.problems() == {}


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_search_calls_the_lookup(guarded_page: Callable[..., Any], pages_url: str, shots_dir: Path,
                                 device: str) -> None:
    g = _open(guarded_page, f"{pages_url}/precincts/map?lang=kk", device)
    page = g.page
    with page.expect_response(lambda r: "/api/v1/lookup?address=" in r.url) as answer:
        page.fill("#gs-q", "Абая 150")
        page.click("#gs-go")
    assert answer.value.status == 200
    page.wait_for_selector("#gs-card:not([hidden])")
    text = page.inner_text("#gs-card")
    assert "Іздеген мекенжай: Абая 150" in text and "Серік Ахметов" in text
    assert "Жаяу:" in text  # travel time to the post, in Kazakh
    assert page.locator("#gs-card .gs-warn").count() == 0  # the very house: a confident card
    # The found address and the chosen precinct's outline (from /precincts/<id>).
    _wait(page, "document.querySelectorAll('.leaflet-overlay-pane path').length >= 2")
    page.screenshot(path=str(shots_dir / f"precincts-{device}-search.png"))
    assert g.problems() == {}


def test_ambiguous_answer_offers_a_choice(guarded_page: Callable[..., Any], pages_url: str) -> None:
    g = _open(guarded_page, f"{pages_url}/precincts/map?lang=en", "phone")
    page = g.page
    lat1, lon1 = grid_latlon(1.0, 0.5)
    lat2, lon2 = grid_latlon(1.0, 2.5)
    cand = {"score": 90.0, "match": "house", "on_border": False, "inspectors": [], "post": None}
    body = {"query": "Abaya 15", "ambiguous": True, "candidates": [
        {**cand, "street": "Абая", "housenumber": "15", "lat": lat1, "lon": lon1,
         "precinct": {"id": "P-01", "name": "Участок P-01", "source": "official", "official": True}},
        {**cand, "street": "Абая пр.", "housenumber": "15", "lat": lat2, "lon": lon2,
         "precinct": {"id": "P-02", "name": "Участок P-02", "source": "official", "official": True}}]}
    page.route("**/api/v1/lookup?*", lambda r: r.fulfill(status=200, content_type="application/json",
                                                         body=json.dumps(body)))
    page.fill("#gs-q", "Abaya 15")
    page.press("#gs-q", "Enter")
    page.wait_for_selector("#gs-candidates:not([hidden])")
    assert "Several addresses match" in page.inner_text("#gs-status")
    buttons = page.locator("#gs-candidates button")
    assert buttons.count() == 2 and "Участок P-02" in buttons.nth(1).inner_text()
    assert buttons.nth(1).bounding_box()["height"] >= 44
    buttons.nth(1).click()
    page.wait_for_selector("#gs-card:not([hidden])")
    # The card is filled from /api/v1/precincts/<id> (the tiled map, #21): wait for it, not only for the box.
    _wait(page, "document.querySelector('#gs-card').innerText.includes('Айгүл Сейітова')", timeout_s=15)
    assert page.locator("#gs-candidates").is_hidden()
    assert g.problems() == {}


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_an_unsure_answer_says_so(guarded_page: Callable[..., Any], pages_url: str, shots_dir: Path,
                                  lang: str) -> None:
    """House not found, the street's middle, a street across two precincts: the card says so in the
    page's language (from the fields, not the English note) and gives no travel time."""
    from geo_service.pages.i18n import t

    g = _open(guarded_page, f"{pages_url}/precincts/map?lang={lang}", "phone")
    page = g.page
    lat, lon = grid_latlon(1.0, 0.5)
    note = "house 1 not found on Абая; the point is the street's middle (1.2 km long)"
    cand = {"score": 70.0, "match": "street", "street": "Абая", "housenumber": None, "house_asked": "1",
            "house_found": False, "precinct_determined": False, "street_length_m": 1200.0,
            "street_precincts": [{"id": "P-01", "name": "Участок P-01"}, {"id": "P-02", "name": "Участок P-02"}],
            "note": note, "lat": lat, "lon": lon, "on_border": False, "inspectors": [], "post": None,
            "travel_to_post": {"walk": {"minutes": 7}},
            "precinct": {"id": "P-01", "name": "Участок P-01", "source": "official", "official": True}}
    body = {"query": "Абая 1", "ambiguous": False, "match": "street", "house_found": False,
            "precinct_determined": False, "note": note, "candidates": [cand]}
    page.route("**/api/v1/lookup?*", lambda r: r.fulfill(status=200, content_type="application/json",
                                                         body=json.dumps(body)))
    page.fill("#gs-q", "Абая 1")
    page.press("#gs-q", "Enter")
    page.wait_for_selector("#gs-card .gs-warn")
    text = page.inner_text("#gs-card")
    assert t("match_house_not_found", lang, house="1", where=t("match_street_middle", lang)) in text
    assert t("precinct_undetermined", lang, count=2, names="Участок P-01, Участок P-02") in text
    assert t("precinct_maybe", lang) in page.inner_text("#gs-card .gs-card-title")
    assert page.locator("#gs-card .gs-travel").count() == 0 and note not in text
    if lang != "en":
        for word in ("not found", "street", "precinct", "House"):
            assert word not in text, word
    if lang == "ru":
        page.screenshot(path=str(shots_dir / "precincts-phone-unsure.png"))
    assert g.problems() == {}


def test_lookup_errors_are_told_in_the_page_language(guarded_page: Callable[..., Any], pages_url: str) -> None:
    g = _open(guarded_page, f"{pages_url}/precincts/map?lang=ru", "desktop")
    page = g.page
    page.fill("#gs-q", "zzzz qqqq")
    page.click("#gs-go")
    _wait(page, "document.querySelector('#gs-status').textContent.includes('не найден')")
    assert "gs-error" in page.get_attribute("#gs-status", "class")
    page.fill("#gs-q", "   ")
    page.click("#gs-go")
    assert page.inner_text("#gs-status") == "Введите адрес."
    # The 404 of the lookup is the only thing the browser complained about.
    assert [r for r in g.bad_responses if "/api/v1/lookup" not in r] == []
    assert all("404" in e for e in g.console_errors)
    assert not g.blocked and not g.page_errors


def test_home_and_docs_pages(guarded_page: Callable[..., Any], pages_url: str, shots_dir: Path) -> None:
    g = guarded_page(**PHONE)
    g.page.goto(f"{pages_url}/?lang=kk", wait_until="load")
    assert g.page.locator("a.gs-button").count() == 3  # the precinct map, the API docs, the staff sign-in (#22)
    assert g.page.locator("a.gs-button >> nth=2").get_attribute("href") == "/sign-in?lang=kk"
    g.page.click("a.gs-button >> nth=0")
    g.page.wait_for_selector(".leaflet-tile-pane canvas.leaflet-tile-loaded", state="attached")  # precincts: tiles
    assert g.page.get_attribute("html", "lang") == "kk"
    d = guarded_page(**DESKTOP)
    d.page.goto(f"{pages_url}/api/v1/docs", wait_until="load")
    d.page.wait_for_selector(".swagger-ui .opblock", timeout=15000)
    d.page.screenshot(path=str(shots_dir / "api-docs-desktop.png"))
    assert g.problems() == {} and d.problems() == {}


def test_page_opened_once_shows_offline(browser: Any, pages_url: str) -> None:
    """The service worker keeps the shell and the opened page; offline, the page still draws."""
    context = browser.new_context(**PHONE)
    outside: list[str] = []
    context.on("request", lambda r: r.url.startswith(("http://127.0.0.1", "data:", "blob:")) or outside.append(r.url))
    try:
        page = context.new_page()
        page.goto(f"{pages_url}/precincts/map?lang=en", wait_until="load")
        _wait(page, "navigator.serviceWorker.controller !== null", timeout_s=15)
        page.evaluate("navigator.serviceWorker.ready.then(() => caches.keys())")
        page.reload(wait_until="load")  # this visit passes through the worker and is stored
        context.set_offline(True)
        page.reload(wait_until="load")
        page.wait_for_selector(".leaflet-marker-pane .gs-post-icon", state="attached")
        assert page.evaluate("L.version") == "1.9.3"
        # The base map's tiles (roads and precincts, #21) come from the worker's store.
        _wait(page, "document.querySelectorAll('.leaflet-tile-pane canvas.leaflet-tile-loaded').length > 0")
        # Searching offline says so in the page's language.
        page.fill("#gs-q", "Abaya 150")
        page.click("#gs-go")
        _wait(page, "document.querySelector('#gs-status').textContent.includes('No connection')")
        assert outside == []
    finally:
        context.close()


# -- the route page ------------------------------------------------------------------------------
def _bearer(app: Any, role: str, *, subject: str, precincts: tuple[str, ...] = ()) -> dict[str, str]:
    from geo_service.web.context import STORE_EXT

    _, token = app.extensions[STORE_EXT].create_credential(name=f"b-{role}-{subject}", role=role, kind="user_token",
                                                          subject=subject, precinct_ids=precincts)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def route_link(pages_server: tuple[Any, str]) -> dict[str, str]:
    """A kept plan of UI-1 with five visits, and a signed link to its page."""
    app, _ = pages_server
    ui1 = _bearer(app, "inspector", subject="UI-1", precincts=("P-01",))
    visits = []
    for k, (i, j) in enumerate([(0.5, 0.2), (1.5, 0.5), (2.5, 1.2), (3, 0.3), (1.0, 1.5)]):
        lat, lon = grid_latlon(i, j)
        visits.append({"id": f"v{k}", "lat": lat, "lon": lon, "minutes": 10, "label": f"Абая {150 + k}, кв. {k + 3}"})
    client = app.test_client()
    # Planned for today in the city's time zone: the page's "made" button marks a visit now, and a
    # visit is marked made only on its plan's day.
    today = clock.now().astimezone(ZoneInfo(app.config.get("TIME_ZONE") or "Asia/Almaty")).date().isoformat()
    resp = client.post("/api/v1/routes/plan", headers=ui1, json={"inspector_id": "UI-1", "date": today,
                                                               "visits": visits})
    assert resp.status_code == 201, resp.json
    plan_id = resp.json["id"]
    link = client.post(f"/api/v1/routes/plans/{plan_id}/link", headers=ui1)
    assert link.status_code == 201
    return {"plan_id": plan_id, "url": link.json["url"], "auth": ui1["Authorization"]}


def _open_route(make: Callable[..., Any], url: str, device: str, **extra: Any) -> Any:
    g = make(**DEVICES[device], **extra)
    g.page.goto(url, wait_until="load")
    g.page.wait_for_selector(".leaflet-marker-pane .gs-stop-icon", state="attached")
    g.page.evaluate("document.fonts.ready.then(() => true)")
    return g


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_route_page(guarded_page: Callable[..., Any], pages_url: str, route_link: dict[str, str], shots_dir: Path,
                    device: str) -> None:
    g = _open_route(guarded_page, f"{pages_url}{route_link['url']}?lang=ru", device)
    page = g.page
    # The road path, five numbered markers in visiting order, the post, the controls.
    assert page.locator(".leaflet-overlay-pane path[stroke='#0b57d0']").count() == 1
    numbers = page.locator(".leaflet-marker-pane .gs-stop-icon").all_inner_texts()
    assert sorted(int(n) for n in numbers) == [1, 2, 3, 4, 5]
    assert page.locator(".leaflet-marker-pane .gs-post-icon").count() == 1
    assert page.locator(".leaflet-control-locate").count() == 1  # the inspector's own position on the route
    assert page.locator(".leaflet-control-zoom-fullscreen").count() == 1
    assert "OpenStreetMap contributors" in page.inner_text(".leaflet-control-attribution")
    # Navigation in outside apps: links a person taps (nothing was loaded from those hosts).
    assert page.locator("a.gs-nav-geo[href^='geo:']").count() == 5
    assert page.locator("a.gs-nav-2gis[href^='https://2gis.kz/geo/']").count() == 5
    assert page.locator("a.gs-nav-yandex[href*='rtt=pd']").count() == 5
    assert page.get_attribute("#gs-gpx", "href") == f"{route_link['url']}/gpx"
    assert page.get_attribute("#gs-sheet", "href") == f"{route_link['url']}/sheet"
    page.screenshot(path=str(shots_dir / f"route-{device}.png"))

    map_box, list_box = _box(page, ".folium-map"), _box(page, "#gs-stops")
    if device == "phone":
        # The list is under the map, never over it; the map keeps most of the screen.
        assert map_box["y"] + map_box["height"] <= list_box["y"] + 1
        assert map_box["height"] >= 300
        for sel in (".gs-stop-go", ".gs-nav-geo", ".gs-nav-2gis", ".gs-nav-yandex", "#gs-gpx", "#gs-sheet",
                    ".gs-lang a", "#gs-stops > summary", ".leaflet-control-zoom-in", ".leaflet-control-locate a"):
            box = _box(page, sel)
            assert box["height"] >= 44 and box["width"] >= 44, (sel, box)
        sizes = page.evaluate(
            """() => [...document.querySelectorAll('#gs-stops li, #gs-stops summary, .gs-nav, .gs-times, '
                     + '.gs-stop-label, .gs-route-sum, .gs-button')]
                     .map(e => parseFloat(getComputedStyle(e).fontSize))""")
        assert sizes and min(sizes) >= 16, sizes
        # Folding the list gives the map the room.
        page.click("#gs-stops > summary")
        page.wait_for_timeout(200)
        assert _box(page, ".folium-map")["height"] > map_box["height"] + 150
        page.click("#gs-stops > summary")
    else:
        assert list_box["x"] + list_box["width"] <= map_box["x"] + 1  # a side panel
    # A stop in the list shows it on the map.
    page.locator(".gs-stop-go[data-stop='3']").click()
    page.wait_for_selector("#gs-stop-3.gs-current")
    assert page.locator(".leaflet-marker-pane .gs-stop-icon.gs-current").inner_text() == "3"
    page.screenshot(path=str(shots_dir / f"route-{device}-stop.png"))
    assert g.problems() == {}


def test_made_and_undo_on_the_phone(guarded_page: Callable[..., Any], pages_url: str, route_link: dict[str, str],
                                    shots_dir: Path) -> None:
    """The "made" button and its "undo" through the signed link, pressed as on a phone."""
    g = _open_route(guarded_page, f"{pages_url}{route_link['url']}?lang=ru", "phone")
    page = g.page
    assert page.locator(".gs-made-btn").count() >= 2
    page.locator("#gs-stop-2 .gs-made-btn").click()
    page.wait_for_selector("#gs-stop-2 .gs-made")
    assert page.locator("#gs-stop-2 .gs-made").inner_text().startswith("✓")
    undo = _box(page, "#gs-stop-2 .gs-undo-btn")
    assert undo["height"] >= 44 and undo["width"] >= 44
    page.screenshot(path=str(shots_dir / "route-phone-made.png"))
    page.locator("#gs-stop-2 .gs-undo-btn").click()
    page.wait_for_selector("#gs-stop-2 .gs-made-btn")
    assert page.locator("#gs-stop-2 .gs-made").count() == 0
    assert g.problems() == {}


def test_route_page_with_credentials(guarded_page: Callable[..., Any], pages_url: str,
                                     route_link: dict[str, str]) -> None:
    g = _open_route(guarded_page, f"{pages_url}/routes/{route_link['plan_id']}/map?lang=kk", "desktop",
                    extra_http_headers={"Authorization": route_link["auth"]})
    assert g.page.get_attribute("html", "lang") == "kk"
    assert g.page.locator(".leaflet-marker-pane .gs-stop-icon").count() == 5
    assert g.page.get_attribute("#gs-gpx", "href").endswith(f"/routes/plans/{route_link['plan_id']}/gpx")
    assert g.problems() == {}


def test_route_page_opened_once_shows_offline(browser: Any, pages_url: str, route_link: dict[str, str]) -> None:
    context = browser.new_context(**PHONE)
    outside: list[str] = []
    context.on("request", lambda r: r.url.startswith(("http://127.0.0.1", "data:", "blob:")) or outside.append(r.url))
    try:
        page = context.new_page()
        url = f"{pages_url}{route_link['url']}?lang=en"
        page.goto(url, wait_until="load")
        _wait(page, "navigator.serviceWorker.controller !== null", timeout_s=15)
        page.reload(wait_until="load")  # this visit passes through the worker and is stored
        context.set_offline(True)
        page.reload(wait_until="load")
        page.wait_for_selector(".leaflet-marker-pane .gs-stop-icon", state="attached")
        assert page.locator(".leaflet-marker-pane .gs-stop-icon").count() == 5
        assert page.locator(".leaflet-overlay-pane path[stroke='#0b57d0']").count() == 1
        assert outside == []
    finally:
        context.close()


def _route_page_under_worker(context: Any, pages_url: str, route_link: dict[str, str]) -> Any:
    """The route page (English), reloaded once its service worker controls it."""
    page = context.new_page()
    page.goto(f"{pages_url}{route_link['url']}?lang=en", wait_until="load")
    _wait(page, "navigator.serviceWorker.controller !== null", timeout_s=15)
    page.reload(wait_until="load")
    return page


def test_mark_made_offline_is_sent_when_back_online(browser: Any, pages_server: tuple[Any, str],
                                                     route_link: dict[str, str], shots_dir: Path) -> None:
    """Offline, the "made" button is kept by the page's worker with the time it was pressed,
    and sent before the next page is fetched once the connection is back."""
    import datetime as dt

    from geo_service.web.context import appeal_store

    app, pages_url = pages_server
    plan = app.test_client().get(f"/api/v1/routes/plans/{route_link['plan_id']}",
                                 headers={"Authorization": route_link["auth"]}).json
    fourth = [s["visit_id"] for s in plan["plan"]["stops"] if s["kind"] == "visit"][3]

    def made() -> dict[str, Any]:
        with app.app_context():
            return appeal_store().done_in_plan(inspector_id="UI-1", due={fourth: plan["due"][fourth]})

    context = browser.new_context(**PHONE)
    try:
        page = _route_page_under_worker(context, pages_url, route_link)
        context.set_offline(True)
        pressed = dt.datetime.now(dt.UTC)
        page.locator("#gs-stop-4 .gs-made-btn").click()
        page.wait_for_selector("h1.gs-saved")
        assert "Saved on this phone" in page.inner_text("h1")
        assert _box(page, "#gs-back")["height"] >= 44
        page.screenshot(path=str(shots_dir / "route-phone-saved-offline.png"))
        assert fourth not in made()  # nothing reached the server
        page.wait_for_timeout(2500)
        context.set_offline(False)
        page.click("#gs-back")  # the next page: the worker sends the kept mark first
        page.wait_for_selector("#gs-stop-4 .gs-made")
        sent = dt.datetime.now(dt.UTC)
        assert page.evaluate("caches.open('gsq-marks').then(c => c.keys()).then(k => k.length)") == 0
        when = made()[fourth].astimezone(dt.UTC)
        # The time the button was pressed, not the time the mark was sent.
        assert pressed - dt.timedelta(seconds=2) <= when <= pressed + dt.timedelta(seconds=2) < sent
        page.locator("#gs-stop-4 .gs-undo-btn").click()  # leave the plan as the other tests expect
        page.wait_for_selector("#gs-stop-4 .gs-made-btn")
    finally:
        context.close()


def test_offline_mark_waits_visibly_and_goes_when_online(browser: Any, pages_server: tuple[Any, str],
                                                         route_link: dict[str, str], shots_dir: Path) -> None:
    """A mark pressed offline shows "waiting to send" on its stop, also after a reload of the
    cached page, and is sent when the connection returns (the page's ``online``), with no navigation."""
    from geo_service.web.context import appeal_store

    app, pages_url = pages_server
    plan = app.test_client().get(f"/api/v1/routes/plans/{route_link['plan_id']}",
                                 headers={"Authorization": route_link["auth"]}).json
    fifth = [s["visit_id"] for s in plan["plan"]["stops"] if s["kind"] == "visit"][4]

    def made() -> dict[str, Any]:
        with app.app_context():
            return appeal_store().done_in_plan(inspector_id="UI-1", due={fifth: plan["due"][fifth]})

    context = browser.new_context(**PHONE)
    try:
        page = _route_page_under_worker(context, pages_url, route_link)
        context.set_offline(True)
        page.locator("#gs-stop-5 .gs-made-btn").click()
        page.wait_for_selector("h1.gs-saved")
        page.click("#gs-back")  # offline: the cached route page
        page.wait_for_selector("#gs-stop-5 .gs-pending")
        assert "Waiting to send" in page.inner_text("#gs-stop-5 .gs-pending")
        assert page.locator("#gs-stop-5 .gs-made-btn").is_hidden()
        assert page.locator("#gs-stop-4 .gs-pending").count() == 0
        page.reload(wait_until="load")  # still offline: kept across a reload of the cached page
        page.wait_for_selector("#gs-stop-5 .gs-pending")
        page.locator("#gs-stop-5").scroll_into_view_if_needed()
        page.screenshot(path=str(shots_dir / "route-phone-pending-offline.png"))
        assert fifth not in made()
        context.set_offline(False)  # no navigation by the test: the page's "online" sends it
        deadline = time.monotonic() + 15
        while fifth not in made() and time.monotonic() < deadline:
            page.wait_for_timeout(200)
        assert fifth in made()
        page.wait_for_selector("#gs-stop-5 .gs-made")
        assert page.locator("#gs-stop-5 .gs-pending").count() == 0
        assert page.evaluate("caches.open('gsq-marks').then(c => c.keys()).then(k => k.length)") == 0
        page.locator("#gs-stop-5 .gs-undo-btn").click()  # leave the plan as the other tests expect
        page.wait_for_selector("#gs-stop-5 .gs-made-btn")
    finally:
        context.close()


def test_a_refused_offline_mark_is_shown_not_lost(browser: Any, pages_url: str, route_link: dict[str, str],
                                                   shots_dir: Path) -> None:
    """A mark kept offline that the server refuses when it is sent (here: through a link that
    no longer checks out) stays on the phone and is listed on the route page until dismissed."""
    context = browser.new_context(**PHONE)
    try:
        page = _route_page_under_worker(context, pages_url, route_link)
        context.set_offline(True)
        forged = route_link["url"][:-3] + "xyz"
        page.evaluate(f"""fetch('{forged}/stops/3/done?lang=en', {{method: 'POST'}})""")
        context.set_offline(False)
        page.reload(wait_until="load")  # the worker sends the kept mark first: the server refuses it
        page.wait_for_selector(".gs-refused")
        text = page.inner_text(".gs-refused")
        assert "refused" in text and "Stop 3" in text and "Mark as made" in text
        assert _box(page, ".gs-refused-forget")["height"] >= 44
        page.screenshot(path=str(shots_dir / "route-phone-refused.png"))
        page.reload(wait_until="load")  # not sent again, still listed
        page.wait_for_selector(".gs-refused")
        page.click(".gs-refused-forget")
        page.wait_for_selector(".gs-refused", state="detached")
        page.reload(wait_until="load")
        page.wait_for_selector(".leaflet-marker-pane .gs-stop-icon", state="attached")
        page.wait_for_timeout(500)
        assert page.locator(".gs-refused").count() == 0
    finally:
        context.close()


def test_expired_link_page(guarded_page: Callable[..., Any], pages_url: str) -> None:
    g = guarded_page(**PHONE)
    resp = g.page.goto(f"{pages_url}/r/WyJwbF8wIiwgMV0.aaaaaaaaaaaaaaaaaaaaaaaaaaa?lang=kk", wait_until="load")
    assert resp.status == 403
    assert "Сілтеме жарамсыз" in g.page.inner_text("main")
    assert g.blocked == [] and g.page_errors == []


# -- the siting page ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def siting_auth(pages_server: tuple[Any, str]) -> dict[str, str]:
    app, _ = pages_server
    planner = _bearer(app, "planner", subject="pl-1")
    resp = app.test_client().post("/api/v1/siting/solve", headers=planner,
                                  json={"model": "mclp", "minutes": 2, "p": 2, "existing": "posts"})
    assert resp.status_code == 201, resp.json
    return {"id": resp.json["id"], **planner}


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_siting_page(guarded_page: Callable[..., Any], pages_url: str, siting_auth: dict[str, str],
                     shots_dir: Path, device: str) -> None:
    g = guarded_page(**DEVICES[device], extra_http_headers={"Authorization": siting_auth["Authorization"]})
    page = g.page
    page.goto(f"{pages_url}/siting/{siting_auth['id']}/map?lang=en", wait_until="load")
    page.wait_for_selector(".leaflet-marker-pane .gs-post-icon", state="attached")
    page.evaluate("document.fonts.ready.then(() => true)")
    # Three service areas (one existing post, two proposed), three markers, the heat layer, the table.
    assert page.locator(".leaflet-overlay-pane path[fill='#59a14f']").count() == 2
    assert page.locator(".leaflet-overlay-pane path[fill='#4e79a7']").count() == 1
    assert page.locator(".leaflet-marker-pane .gs-post-icon").count() == 3
    assert page.locator(".leaflet-marker-pane .gs-site-proposed").count() == 2
    assert page.locator("canvas.leaflet-heatmap-layer").count() == 1
    assert page.locator("#gs-marginal tbody tr").count() == 2
    assert "Gain" in page.inner_text("#gs-marginal thead")
    page.screenshot(path=str(shots_dir / f"siting-{device}.png"))
    if device == "phone":
        assert _box(page, ".folium-map")["y"] + _box(page, ".folium-map")["height"] <= _box(page, "#gs-siting")["y"] + 1
    assert g.problems() == {}


# -- the workload and public precinct pages -------------------------------------------------------
def test_workload_page(guarded_page: Callable[..., Any], pages_server: tuple[Any, str], shots_dir: Path) -> None:
    app, url = pages_server
    g = guarded_page(**DESKTOP, extra_http_headers=_bearer(app, "planner", subject="pl-w"))
    page = g.page
    page.goto(f"{url}/workload/map?lang=en", wait_until="load")
    page.wait_for_selector("#gs-scale-items li")
    # Two precincts coloured from the scale (not the grey of "no data"), the scale, the table.
    fills = page.eval_on_selector_all(".leaflet-overlay-pane path.leaflet-interactive",
                                      "ps => ps.map(p => p.getAttribute('fill'))")
    assert len(fills) == 2 and all(f in ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026") for f in fills), fills
    assert page.locator("#gs-scale-items li").count() >= 1
    assert page.locator("#gs-wl-table tbody tr").count() == 2
    before = page.inner_text("#gs-scale-items")
    page.select_option("#gs-indicator", "area_km2")
    assert page.inner_text("#gs-scale-items") != before  # the scale follows the indicator
    page.locator(".gs-wl-go").first.click()
    page.wait_for_selector("#gs-card:not([hidden])")
    assert "Area, km²" in page.inner_text("#gs-card")
    page.screenshot(path=str(shots_dir / "workload-desktop.png"))
    assert g.problems() == {}


def test_public_precinct_page(guarded_page: Callable[..., Any], pages_url: str, shots_dir: Path) -> None:
    g = guarded_page(**PHONE)
    page = g.page
    page.goto(f"{pages_url}/p/P-01?lang=ru", wait_until="load")
    page.wait_for_selector(".leaflet-overlay-pane path", state="attached")
    text = page.inner_text("body")
    for s in ("Серік Ахметов", "майор полиции", "Вт/Чт 17:00-20:00", "Абая 150", "Поступило обращений"):
        assert s in text, s
    assert page.locator("a[href='tel:+77270000001']").count() == 1
    # The map sits under the header and above the inspector.
    assert _box(page, ".gs-pub-head")["y"] < _box(page, ".folium-map")["y"] < _box(page, "#gs-pub-inspectors")["y"]
    assert page.locator(".leaflet-control-zoom").is_visible() and page.locator("#gs-print").is_visible()
    page.screenshot(path=str(shots_dir / "public-precinct-phone.png"))
    page.emulate_media(media="print")
    for sel in (".leaflet-control-zoom", ".leaflet-control-layers", "#gs-print", ".gs-lang"):
        assert page.locator(sel).first.is_hidden(), sel
    assert page.locator(".folium-map").is_visible()
    assert "OpenStreetMap" in page.inner_text(".leaflet-control-attribution")
    page.screenshot(path=str(shots_dir / "public-precinct-print.png"), full_page=True)
    assert g.problems() == {}
    # An unknown precinct: a readable 404 page in the user's language (the 404 itself is logged).
    resp = page.goto(f"{pages_url}/p/P-99?lang=kk", wait_until="load")
    assert resp.status == 404 and "Мұндай учаске жоқ" in page.inner_text("main")
    assert g.blocked == [] and g.page_errors == []


OVERFLOW_JS = """() => {
  const bad = [];
  document.querySelectorAll('.gs-pub-head, .gs-pub-head *, .gs-pub-body, .gs-pub-body *').forEach(e => {
    if (getComputedStyle(e).display === 'inline' || e.clientWidth === 0) { return; }
    if (e.scrollWidth > e.clientWidth + 1) {
      bad.push((e.className || e.tagName) + ' ' + e.scrollWidth + '>' + e.clientWidth);
    }
  });
  document.querySelectorAll('.gs-figure').forEach(f => {
    const box = f.getBoundingClientRect();
    f.querySelectorAll('dt, dd').forEach(x => {
      const r = x.getBoundingClientRect();
      if (r.right > box.right + 1 || r.left < box.left - 1) { bad.push('figure text ' + x.textContent); }
    });
  });
  const page = document.documentElement.scrollWidth;
  if (page > window.innerWidth) { bad.push('page ' + page); }
  return bad;
}"""


@pytest.mark.parametrize("width", [390, 320])
@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_public_page_has_directions_and_no_overflow(guarded_page: Callable[..., Any], pages_url: str,
                                                    shots_dir: Path, width: int, lang: str) -> None:
    g = guarded_page(**{**PHONE, "viewport": {"width": width, "height": 844}})
    page = g.page
    page.goto(f"{pages_url}/p/P-01?lang={lang}", wait_until="load")
    page.wait_for_selector(".leaflet-overlay-pane path", state="attached")
    page.evaluate("document.fonts.ready.then(() => true)")
    post = page.inner_text("#gs-pub-post")
    assert "Абая 150" in post
    hrefs = page.eval_on_selector_all("#gs-pub-post a.gs-nav", "as => as.map(a => a.getAttribute('href'))")
    assert len(hrefs) == 3 and hrefs[0].startswith("geo:") and all("P-01" not in h for h in hrefs)
    heights = page.eval_on_selector_all("#gs-pub-post a.gs-nav", "as => as.map(a => a.getBoundingClientRect().height)")
    assert min(heights) >= 44
    assert page.evaluate(OVERFLOW_JS) == []
    if width == 390 and lang == "kk":
        page.screenshot(path=str(shots_dir / "public-precinct-phone-390-kk.png"), full_page=True)
    assert g.problems() == {}


# -- the reform dashboard -----------------------------------------------------------------------
@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_dashboard_page(guarded_page: Callable[..., Any], pages_server: tuple[Any, str], shots_dir: Path,
                        device: str) -> None:
    from geo_service.appeals.store import AppealStore
    from geo_service.web.context import STORE_EXT
    from tests.conftest import grid_latlon

    app, url = pages_server
    store = AppealStore(app.extensions[STORE_EXT], city=app.extensions["geo_service"])
    if len(store.frame()) == 0:
        for month, hours in (("2026-01", 2), ("2026-02", 5), ("2026-03", 3)):
            lat, lon = grid_latlon(1, 0.5)
            a = store.create(lat=lat, lon=lon, category="noise", received_at=f"{month}-03T09:00:00+00:00")
            store.advance(a.id, "first_contact", f"{month}-03T{9 + hours:02d}:00:00+00:00")
    g = guarded_page(**DEVICES[device], extra_http_headers=_bearer(app, "planner", subject=f"pl-d-{device}"))
    page = g.page
    page.goto(f"{url}/workload/dashboard?lang=en", wait_until="load")
    # Three charts drawn (inline SVG), each inside the page width; points where the data is.
    for chart in ("appeals", "contact", "trust"):
        box = _box(page, f"#gs-chart-{chart}")
        width = DEVICES[device]["viewport"]["width"]
        assert box["width"] > 200 and box["x"] >= 0 and box["x"] + box["width"] <= width + 1
    assert page.locator("#gs-chart-appeals circle.gs-pt").count() >= 3
    assert page.locator("#gs-chart-contact circle.gs-pt").count() >= 3
    assert page.evaluate("document.documentElement.scrollWidth") <= DEVICES[device]["viewport"]["width"]
    assert page.locator("#gs-dash-table tbody tr").count() == 2
    assert page.get_attribute("#gs-csv", "href").endswith("/api/v1/workload/indicators.csv")
    page.screenshot(path=str(shots_dir / f"dashboard-{device}.png"), full_page=True)
    assert g.problems() == {}


def _received(context: Any, url: str, ready: str) -> tuple[int, list[dict[str, Any]]]:
    """Bytes Chromium received opening ``url`` in a new tab until the network is idle (headers and
    compressed bodies; nothing for what its cache answered), and the responses' url/headers."""
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    sizes: dict[str, int] = {}
    responses: list[dict[str, Any]] = []
    cdp.on("Network.loadingFinished", lambda e: sizes.__setitem__(e["requestId"], int(e["encodedDataLength"])))
    cdp.on("Network.responseReceived", lambda e: responses.append(
        {"url": e["response"]["url"], "headers": {k.lower(): v for k, v in e["response"]["headers"].items()},
         "cached": e["response"].get("fromDiskCache") or e["response"].get("fromMemoryCache")}))
    page.goto(url, wait_until="load")
    page.wait_for_selector(ready, state="attached")
    page.wait_for_load_state("networkidle")
    page.close()
    return sum(sizes.values()), responses


def test_route_page_is_light_on_a_phone(browser: Any, pages_url: str, route_link: dict[str, str]) -> None:
    """Issue 21: compressed, hashed static files cached for a year, tiles from the bundle; the
    first load within 300 KB, a repeat load within 30 KB (only the page itself comes again)."""
    context = browser.new_context(service_workers="block", **PHONE)
    try:
        url = f"{pages_url}{route_link['url']}?lang=ru"
        first, responses = _received(context, url, ".leaflet-marker-pane .gs-stop-icon")
        assert first <= 300_000, first
        static = [r for r in responses if "/static/" in r["url"]]
        assert static and all("/static/h/" in r["url"] for r in static)
        assert all(r["headers"]["cache-control"] == "public, max-age=31536000, immutable" for r in static)
        big = [r for r in static if r["url"].endswith((".js", ".css")) and "leaflet.js" in r["url"]]
        assert big and big[0]["headers"]["content-encoding"] == "br"
        tiles = [r for r in responses if "/tiles/" in r["url"]]
        assert tiles and all(r["headers"]["cache-control"].endswith("immutable") for r in tiles)
        page = next(r for r in responses if "/r/" in r["url"])
        assert page["headers"]["content-encoding"] == "br" and page["headers"]["cache-control"] == "no-cache"
        repeat, again = _received(context, url, ".leaflet-marker-pane .gs-stop-icon")
        assert repeat <= 30_000, repeat
        assert all(r["cached"] for r in again if "/static/" in r["url"] or "/tiles/" in r["url"])
    finally:
        context.close()


def test_route_area_tiles_are_kept_for_offline_use(browser: Any, pages_url: str, route_link: dict[str, str]) -> None:
    """The route page asks the service worker to keep its area's tiles; offline, the map still draws them."""
    context = browser.new_context(**PHONE)
    try:
        page = context.new_page()
        url = f"{pages_url}{route_link['url']}?lang=ru"
        page.goto(url, wait_until="load")
        _wait(page, "navigator.serviceWorker.controller !== null", timeout_s=15)
        page.reload(wait_until="load")  # controlled now: the page is stored and asks for its tiles
        keep = json.loads(re.search(r"GeoServiceBase\.add\([^,]+, (\{.*?\})\);", page.content()).group(1))["keep"]
        assert keep and all("/tiles/" in u for u in keep)
        _wait(page, f"caches.open('gst-tiles').then(c => c.keys()).then(k => k.length >= {len(keep)})",
              timeout_s=15)
        context.set_offline(True)
        page.reload(wait_until="load")
        page.wait_for_selector(".leaflet-marker-pane .gs-stop-icon", state="attached")
        _wait(page, "document.querySelectorAll('.leaflet-tile-pane canvas.leaflet-tile-loaded').length > 0")
    finally:
        context.close()
