"""The residents' page and the balance proposal page in Chromium (#22).

The real app over the tiny city (two official precincts, its two OpenStreetMap posts, a roster
with reception hours but no post coordinates), on a loopback port: "use my location" with
Playwright's geolocation (granted, refused, unavailable), the 102 link, no horizontal overflow at
320 px in kk, ru and en, and a balance proposal (a real run through the API) drawn with its
layers and table and no console errors. Screenshots go to ``maps/`` when
``GEO_SERVICE_SAVE_SCREENSHOTS=1`` (``public-precinct-320.png``,
``public-precinct-location-phone.png``, ``balance-desktop.png``), else to a temporary folder.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from geo_service.cli.maps import PHONE
from geo_service.pages.i18n import t
from tests.conftest import grid_latlon

if TYPE_CHECKING:
    from tests.browser.conftest import BrowserCity

pytestmark = pytest.mark.browser

DESKTOP_1366 = {"viewport": {"width": 1366, "height": 768}}


@pytest.fixture(scope="module")
def server(tiny_city: Callable[..., BrowserCity]) -> dict[str, Any]:
    """The app over the tiny city (reception hours but no post coordinates in its roster: the posts
    are the extract's two police objects), a planner's header and a kept balance proposal."""
    city = tiny_city("osm")
    posts = city.posts
    assert len(posts) == 2
    token = city.token("planner", name="planner-balance")
    balance = city.balance(token, {posts[0]: 1, posts[1]: 3})
    return {"app": city.app, "url": city.url, "planner": {"Authorization": f"Bearer {token}"}, "balance": balance}


def _open_public(make: Callable[..., Any], url: str, **context: Any) -> Any:
    g = make(**context)
    g.page.goto(url, wait_until="load")
    g.page.wait_for_selector(".leaflet-overlay-pane path", state="attached")
    g.page.evaluate("document.fonts.ready.then(() => true)")
    return g


def _located(g: Any, state: str) -> str:
    page = g.page
    page.click("#gs-locate")
    g.poll("(document.getElementById('gs-locate-result').getAttribute('data-state') || 'busy') !== 'busy'")
    assert page.get_attribute("#gs-locate-result", "data-state") == state, page.inner_text("#gs-locate-result")
    return page.inner_text("#gs-locate-result")


def _wide_elements(page: Any, width: int) -> list[str]:
    """Elements of the page's own blocks reaching past the viewport, or wider than their box."""
    return page.evaluate("""(width) => {
      const bad = [];
      document.querySelectorAll('.gs-pub-head, .gs-pub-head *, .gs-pub-body, .gs-pub-body *').forEach(e => {
        const r = e.getBoundingClientRect();
        if (r.width === 0) { return; }
        if (r.right > width + 0.5 || r.left < -0.5) { bad.push((e.id || e.className || e.tagName) + ' ' + r.right); }
        if (getComputedStyle(e).display !== 'inline' && e.scrollWidth > e.clientWidth + 1) {
          bad.push((e.id || e.className || e.tagName) + ' scroll ' + e.scrollWidth + '>' + e.clientWidth);
        }
      });
      return bad;
    }""", width)


@pytest.mark.parametrize("width", [320, 390])
@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_residents_page_fits_and_calls_102(guarded_page: Callable[..., Any], server: dict[str, Any], maps_dir: Path,
                                          width: int, lang: str) -> None:
    g = _open_public(guarded_page, f"{server['url']}/p/P-01?lang={lang}",
                     **{**PHONE, "viewport": {"width": width, "height": 740}})
    page = g.page
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert _wide_elements(page, width) == []
    # 102, prominent: a tel: link above the map, big enough to tap, with the line that the inspector is not 102.
    call = page.locator("#gs-pub-102")
    assert call.get_attribute("href") == "tel:102" and call.inner_text() == t("pub_emergency_call", lang)
    box = call.bounding_box()
    assert box["height"] >= 44 and box["y"] < page.locator(".folium-map").bounding_box()["y"]
    assert t("pub_emergency_note", lang) in page.inner_text("#gs-pub-emergency")
    # Reception at the post from the roster; the directions from the post's coordinates.
    assert "Вт/Чт 17:00-20:00" in page.inner_text("#gs-pub-hours")
    hrefs = page.eval_on_selector_all("#gs-pub-post a.gs-nav", "as => as.map(a => a.getAttribute('href'))")
    assert [h.split(":")[0] for h in hrefs] == ["geo", "https", "https"]
    assert page.locator("#gs-locate").bounding_box()["height"] >= 44
    if width == 320 and lang == "ru":
        page.screenshot(path=str(maps_dir / "public-precinct-320.png"), full_page=True)
    assert g.problems() == {}


def test_use_my_location_in_this_precinct(guarded_page: Callable[..., Any], server: dict[str, Any],
                                          maps_dir: Path) -> None:
    lat, lon = grid_latlon(1.0, 0.5)
    g = _open_public(guarded_page, f"{server['url']}/p/P-01?lang=kk", **PHONE,
                     geolocation={"latitude": lat, "longitude": lon, "accuracy": 20}, permissions=["geolocation"])
    page = g.page
    with page.expect_request(lambda r: r.url.endswith("/api/v1/lookup") and r.method == "POST") as sent:
        text = _located(g, "here")
    # The position goes in the body, never in the URL.
    assert json.loads(sent.value.post_data) == {"lat": pytest.approx(lat), "lon": pytest.approx(lon)}
    assert t("pub_locate_here", "kk", name="Участок P-01") in text
    # The boundary, then the position: its accuracy circle and its dot (the dot has a tooltip).
    assert page.locator(".leaflet-overlay-pane path").count() == 3
    assert page.locator(".leaflet-overlay-pane path.leaflet-interactive").count() == 1
    page.locator("#gs-pub-locate").scroll_into_view_if_needed()
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(maps_dir / "public-precinct-location-phone.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["viewport"]["width"]
    assert g.problems() == {}


def test_use_my_location_in_another_precinct_links_it(guarded_page: Callable[..., Any],
                                                     server: dict[str, Any]) -> None:
    lat, lon = grid_latlon(1.0, 2.5)
    g = _open_public(guarded_page, f"{server['url']}/p/P-01?lang=ru", **PHONE,
                     geolocation={"latitude": lat, "longitude": lon, "accuracy": 400}, permissions=["geolocation"])
    page = g.page
    text = _located(g, "other")
    assert t("pub_locate_other", "ru", name="Участок P-02") in text
    assert t("pub_locate_accuracy", "ru", m=400) in text  # a coarse position says so
    link = page.locator("#gs-locate-result a.gs-pub-other")
    assert link.get_attribute("href") == "/p/P-02?lang=ru"
    link.click()
    page.wait_for_selector(".leaflet-overlay-pane path", state="attached")
    assert page.inner_text("h1") == "Участок P-02" and page.url.endswith("/p/P-02?lang=ru")
    assert g.problems() == {}


def test_use_my_location_outside_the_city(guarded_page: Callable[..., Any], server: dict[str, Any]) -> None:
    lat, lon = grid_latlon(1.0, 9.0)
    g = _open_public(guarded_page, f"{server['url']}/p/P-01?lang=en", **PHONE,
                     geolocation={"latitude": lat, "longitude": lon, "accuracy": 30}, permissions=["geolocation"])
    page = g.page
    text = _located(g, "outside")
    assert "You are outside the city's precincts. The nearest: Участок P-02" in text
    assert page.locator("#gs-locate-result a.gs-pub-other").get_attribute("href") == "/p/P-02?lang=en"
    # The lookup's 404 is the answer the page reads, not a failure of the page.
    g.bad_responses[:] = [r for r in g.bad_responses if not r.endswith("/api/v1/lookup")]
    g.console_errors[:] = [e for e in g.console_errors if "404" not in e]
    assert g.problems() == {}


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_use_my_location_refused(guarded_page: Callable[..., Any], server: dict[str, Any], lang: str) -> None:
    g = _open_public(guarded_page, f"{server['url']}/p/P-01?lang={lang}", **PHONE)  # no permission granted
    page = g.page
    text = _located(g, "error")
    assert t("pub_locate_denied", lang) in text
    assert page.locator("#gs-locate-result a.gs-pub-map-link").get_attribute("href") == f"/precincts/map?lang={lang}"
    assert page.locator("#gs-locate").is_enabled()  # may be tried again
    assert g.problems() == {}


def test_use_my_location_unavailable(guarded_page: Callable[..., Any], server: dict[str, Any]) -> None:
    g = _open_public(guarded_page, f"{server['url']}/p/P-01?lang=kk", **PHONE, permissions=["geolocation"])
    page = g.page
    # The browser has no position to give (a position error other than a refusal).
    page.evaluate("""() => { navigator.geolocation.getCurrentPosition = (ok, fail) =>
                       setTimeout(() => fail({code: 2, message: 'unavailable'}), 10); }""")
    assert t("pub_locate_unavailable", "kk") in _located(g, "error")
    assert g.problems() == {}


def test_balance_page_draws_layers_and_table(guarded_page: Callable[..., Any], server: dict[str, Any],
                                            maps_dir: Path) -> None:
    body = server["balance"]
    g = guarded_page(**DESKTOP_1366, extra_http_headers=server["planner"])
    page = g.page
    page.goto(f"{server['url']}/workload/balance/{body['id']}/map?lang=en", wait_until="load")
    page.wait_for_selector(".leaflet-overlay-pane path.leaflet-interactive", state="attached")
    g.poll("document.querySelectorAll('.leaflet-tile-pane canvas.leaflet-tile-loaded').length > 0")
    page.evaluate("document.fonts.ready.then(() => true)")
    # Proposed (2) and current (2) precincts, the moved areas, the two post pins.
    n_moved = len({(b["before"], b["after"]) for b in body["moved_blocks"]})
    assert n_moved >= 1
    assert page.locator(".leaflet-overlay-pane path").count() == 4 + n_moved
    assert page.locator(".leaflet-marker-pane .gs-post-icon").count() == 2
    dashed = page.eval_on_selector_all(".leaflet-overlay-pane path", "ps => ps.filter(p => "
                                       "p.getAttribute('stroke-dasharray')).length")
    assert dashed == 2  # the current borders
    red = page.eval_on_selector_all(".leaflet-overlay-pane path", "ps => ps.filter(p => "
                                    "p.getAttribute('stroke') === '#b00020').length")
    assert red == n_moved
    rows = page.locator("#gs-bal-table tbody tr")
    assert rows.count() == 2 and "1.77 → 1.00" in rows.nth(0).inner_text().replace("\u00a0", " ")
    # Every column of the table is inside the panel (no column cut off at 1366 x 768).
    panel = page.locator("#gs-workload").bounding_box()
    last = page.locator("#gs-bal-table thead th").last.bounding_box()
    assert last["x"] + last["width"] <= panel["x"] + panel["width"] + 1
    assert page.locator("#gs-bal-figures tbody tr").count() == 6
    assert "±10%" in page.inner_text("#gs-bal-params")
    page.screenshot(path=str(maps_dir / "balance-desktop.png"))
    # A precinct chosen in the table is outlined on the map.
    page.click("#gs-bal-table .gs-wl-go[data-precinct='P-02']")
    assert "gs-current" in (rows.nth(1).get_attribute("class") or "")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    assert g.problems() == {}
