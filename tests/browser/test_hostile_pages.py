"""Hostile text in Chromium: the pages show it as text and no script of it runs.

The city is built from hostile inputs (see `tests.test_hostile_text`): OSM names, precinct
names, roster fields and visit labels carry template syntax, ``<script>``, an ``<img onerror>``,
``javascript:`` and RTL/zero-width characters. Each page is opened, the inspector card and the
address search are used, and the test asserts no dialog opened, no element of the text was
created, and the text reads literally.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from geo_service.cli.maps import CHROMIUM, PHONE, serve_in_thread
from tests.conftest import grid_latlon
from tests.pages.test_hostile_text import auth, hostile, make_hostile_app, make_plan

if importlib.util.find_spec("playwright") is None:
    pytest.skip("playwright is not installed (pip install playwright==1.65.2)", allow_module_level=True)
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is absent (apt-get install chromium)", allow_module_level=True)

pytestmark = pytest.mark.browser

LITERAL = "zz{{7*7}}zz {% raw %} {#"
#: Elements or attributes that exist only if the hostile markup became markup.
INJECTED = ("document.querySelectorAll('img[src=\"x\"], [onerror]').length"
            " + [...document.querySelectorAll('script')].filter(s => s.textContent.includes('alert(\"x\")')"
            " && s.type !== 'application/json').length"
            " + document.querySelectorAll('a[href^=\"javascript:\"]').length")


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    app = make_hostile_app(tmp_path_factory.mktemp("hostile-browser"))
    with serve_in_thread(app) as url:
        yield app, url


def _check(page: Any, dialogs: list[str]) -> None:
    assert dialogs == [], dialogs
    assert page.evaluate(INJECTED) == 0
    assert "zz49zz" not in page.inner_text("body")


def _guarded(make: Callable[..., Any]) -> tuple[Any, Any, list[str]]:
    g = make(**PHONE)
    dialogs: list[str] = []
    g.page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    return g, g.page, dialogs


def test_precinct_map_card_and_search(guarded_page: Callable[..., Any], hostile_server: tuple[Any, str]) -> None:
    _, url = hostile_server
    g, page, dialogs = _guarded(guarded_page)
    page.goto(f"{url}/precincts/map?lang=ru", wait_until="load")
    page.wait_for_selector(".leaflet-tile-pane canvas.leaflet-tile-loaded", state="attached")  # precincts: tiles
    # The inspector card of a precinct: its name, the inspector's name, rank, hours, post address.
    lat, lon = grid_latlon(1.0, 0.5)
    box = page.locator(".folium-map").bounding_box()
    x, y = page.evaluate("""([lat, lon]) => { const m = document.querySelector('.folium-map');
        const p = window[m.id].latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }""", [lat, lon])
    page.touchscreen.tap(box["x"] + x, box["y"] + y)
    page.wait_for_selector("#gs-card:not([hidden])")
    card = page.inner_text("#gs-card")
    for source in ("PRECINCT", "RNAME", "RRANK", "RHOURS", "RADDR"):
        assert f"{source}:{LITERAL}" in card, (source, card[:300])
    _check(page, dialogs)
    # The address search: the answer names the hostile street and the precinct.
    page.fill("#gs-q", hostile("OSMSTREET")[:150] + " 13/1")
    page.click("#gs-go")
    page.wait_for_selector("#gs-card:not([hidden])")
    page.wait_for_timeout(300)
    assert f"OSMSTREET:{LITERAL}" in page.inner_text("#gs-card")
    _check(page, dialogs)
    assert g.page_errors == [] and g.blocked == []


def test_route_link_and_public_pages(guarded_page: Callable[..., Any], hostile_server: tuple[Any, str]) -> None:
    app, url = hostile_server
    _, link = make_plan(app)
    g, page, dialogs = _guarded(guarded_page)
    page.goto(f"{url}{link}?lang=kk", wait_until="load")
    page.wait_for_selector(".leaflet-marker-pane .gs-stop-icon", state="attached")
    assert f"LABEL:{LITERAL}" in page.inner_text("body")
    page.locator(".leaflet-marker-pane .gs-stop-icon").first.click(force=True)
    page.wait_for_timeout(300)
    _check(page, dialogs)
    page.goto(f"{url}{link}/sheet", wait_until="load")
    assert f"LABEL:{LITERAL}" in page.inner_text("body")
    _check(page, dialogs)
    page.goto(f"{url}/p/P-01?lang=en", wait_until="load")
    page.wait_for_selector(".leaflet-overlay-pane path", state="attached")
    text = page.inner_text("body")
    for source in ("PRECINCT", "RNAME", "RRANK", "RHOURS", "RADDR"):
        assert f"{source}:{LITERAL}" in text, source
    _check(page, dialogs)
    assert g.page_errors == [] and g.blocked == []


def test_planner_pages(guarded_page: Callable[..., Any], hostile_server: tuple[Any, str]) -> None:
    app, url = hostile_server
    headers = auth(app, "planner")
    g, page, dialogs = _guarded(lambda **kw: guarded_page(extra_http_headers=headers, **kw))
    for path in ("/workload/map?lang=ru", "/workload/dashboard?lang=ru"):
        page.goto(f"{url}{path}", wait_until="load")
        page.wait_for_timeout(300)
        assert f"PRECINCT:{LITERAL}" in page.inner_text("body"), path
        _check(page, dialogs)
    assert g.page_errors == [] and g.blocked == []
