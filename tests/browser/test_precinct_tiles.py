"""The precinct map drawn from the bundle's vector tiles, in Chromium (#21): the precincts come
from the tiles' ``precincts`` layer (no polygon in the page), a tap asks the lookup API for the
card, "use my location" opens the card of where the browser says the person is (or says why
not), and a bundle without tiles still draws its precincts from the page.

Uses the tiny test city of ``test_pages.py`` (two official precincts, one post).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from geo_service.cli.maps import PHONE, serve_in_thread
from tests.browser.test_pages import _open, _tap_precinct, _wait, pages_server, pages_url, shots_dir
from tests.conftest import grid_latlon

pytestmark = pytest.mark.browser
__all__ = ["pages_server", "pages_url", "shots_dir"]  # fixtures of test_pages.py, used here

#: The protomaps layer on the page's map (found by its query method).
LAYER = """(() => { const m = window[document.querySelector('.folium-map').id];
  return Object.values(m._layers).find(l => typeof l.queryTileFeaturesDebug === 'function'); })()"""


def _tile_precincts(page: Any, lat: float, lon: float) -> list[dict[str, Any]]:
    """The precinct features the tiles drawn on the page hold at (lat, lon)."""
    return page.evaluate(f"""([lat, lon]) => {{ const layer = {LAYER};
        const out = [];
        for (const [, hits] of layer.queryTileFeaturesDebug(lon, lat, 4)) {{
          for (const h of hits) {{ if (h.layerName === 'precincts') {{ out.push(h.feature.props); }} }}
        }}
        return out; }}""", [lat, lon])


def test_precincts_come_from_the_tiles_and_a_tap_opens_the_card(
        guarded_page: Callable[..., Any], pages_url: str, shots_dir: Path) -> None:
    g = _open(guarded_page, f"{pages_url}/precincts/map?lang=ru", "phone")
    page = g.page
    html = page.content()
    assert "Серік Ахметов" not in html and '"Polygon"' not in html  # nothing of the precincts in the page
    assert page.locator(".leaflet-overlay-pane path.leaflet-interactive").count() == 0
    lat, lon = grid_latlon(1.0, 0.5)
    _wait(page, f"(() => {{ const l = {LAYER}; return !!l; }})()")
    _wait(page, "document.querySelectorAll('.leaflet-tile-pane canvas.leaflet-tile-loaded').length > 0")
    props: list[dict[str, Any]] = []
    for _ in range(60):  # a canvas may be drawn before its features are indexed (seen on a loaded CI machine)
        props = _tile_precincts(page, lat, lon)
        if props:
            break
        page.wait_for_timeout(250)
    assert {"id": "P-01", "name": "Участок P-01", "source": "official"} in props
    # The fill is the id's colour, the same as GeoServiceBase.colourOf gives.
    colour = page.evaluate("GeoServiceBase.colourOf('P-01')")
    assert colour.startswith("#") and colour != page.evaluate("GeoServiceBase.colourOf('P-02')")
    with page.expect_request(lambda r: r.url.endswith("/api/v1/lookup") and r.method == "POST") as asked:
        _tap_precinct(page, 1.0, 0.5, touch=True)
    body = json.loads(asked.value.post_data or "{}")
    assert abs(body["lat"] - lat) < 1e-3 and abs(body["lon"] - lon) < 1e-3  # the place is in the body, not the URL
    page.wait_for_selector("#gs-card:not([hidden])")
    card = page.inner_text("#gs-card")
    assert "Участок P-01" in card and "Серік Ахметов" in card and "Абая 150" in card
    assert page.locator("#gs-card a[href='tel:+77270000001']").count() == 1
    # The chosen precinct's outline comes from /precincts/<id>.
    _wait(page, "document.querySelectorAll('.leaflet-overlay-pane path').length >= 2")
    page.screenshot(path=str(shots_dir / "precincts-tiles-phone-card.png"))
    page.click(".gs-close")  # the open card leaves less map: P-02 may be under it
    _tap_precinct(page, 1.0, 2.5, touch=True)
    _wait(page, "document.querySelector('#gs-card').innerText.includes('Айгүл Сейітова')")
    # Outside every precinct: said in the page's language, no card.
    page.click(".gs-close")
    page.evaluate("([lat, lon]) => GeoServicePage.lookupPoint(lat, lon, null)", list(grid_latlon(-1.5, 1.0)))
    _wait(page, "document.querySelector('#gs-status').classList.contains('gs-error')")
    assert page.locator("#gs-card").is_hidden()
    assert [r for r in g.bad_responses if "/api/v1/lookup" not in r] == []
    assert not g.blocked and not g.page_errors


@pytest.fixture()
def located(browser: Any) -> Iterator[Callable[..., Any]]:
    """A phone context whose browser says the person stands at ``latlon`` (or refuses to say)."""
    contexts: list[Any] = []

    def make(latlon: tuple[float, float] | None, lang: str, url: str) -> Any:
        options: dict[str, Any] = {**PHONE, "service_workers": "block"}
        if latlon is not None:
            options |= {"geolocation": {"latitude": latlon[0], "longitude": latlon[1]}, "permissions": ["geolocation"]}
        context = browser.new_context(**options)
        contexts.append(context)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{url}/precincts/map?lang={lang}", wait_until="load")
        page.errors = errors
        return page

    yield make
    for c in contexts:
        c.close()


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_use_my_location_opens_the_card(located: Callable[..., Any], pages_url: str, shots_dir: Path,
                                        lang: str) -> None:
    from geo_service.pages.i18n import t

    page = located(grid_latlon(1.0, 0.5), lang, pages_url)
    button = page.locator("#gs-here")
    box = button.bounding_box()
    assert box is not None and box["height"] >= 44 and box["width"] >= 44
    assert button.get_attribute("title") == t("my_location_title", lang)
    with page.expect_request(lambda r: r.url.endswith("/api/v1/lookup") and r.method == "POST") as asked:
        button.click()
    assert "lat=" not in asked.value.url
    page.wait_for_selector("#gs-card:not([hidden])")
    card = page.inner_text("#gs-card")
    assert "Участок P-01" in card and "Серік Ахметов" in card and t("your_location", lang) in card
    if lang == "ru":
        page.wait_for_timeout(500)  # tiles drawn around the person's place
        page.screenshot(path=str(shots_dir / "precincts-tiles-phone-location.png"))
    assert page.errors == []


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_refused_location_is_said_in_the_page_language(located: Callable[..., Any], pages_url: str,
                                                       lang: str) -> None:
    from geo_service.pages.i18n import t

    page = located(None, lang, pages_url)  # no permission: the browser refuses
    page.click("#gs-here")
    _wait(page, "document.querySelector('#gs-status').classList.contains('gs-error')")
    assert page.inner_text("#gs-status") == t("geo_denied", lang)
    assert page.locator("#gs-card").is_hidden() and page.errors == []


@pytest.fixture(scope="module")
def inline_url(pages_server: tuple[Any, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The same city from a copy of its bundle without tiles."""
    import shutil

    from geo_service import create_app
    from geo_service.ingest.tiles import TILES_FILE

    app, _ = pages_server
    source = Path(app.config["BUNDLE"])
    copy = tmp_path_factory.mktemp("no-tiles") / "bundle"
    shutil.copytree(source.resolve(), copy)
    (copy / TILES_FILE).unlink()
    inline = create_app({"BUNDLE": str(copy), "TESTING": True, "RATELIMIT_PUBLIC": "10000/minute"})
    with serve_in_thread(inline) as url:
        yield url


def test_a_bundle_without_tiles_draws_its_precincts_from_the_page(guarded_page: Callable[..., Any],
                                                                  inline_url: str) -> None:
    g = _open(guarded_page, f"{inline_url}/precincts/map?lang=en", "phone")
    page = g.page
    assert page.locator(".leaflet-overlay-pane path.leaflet-interactive").count() == 2
    assert page.locator(".gs-legend-item").count() == 2
    assert g.problems() == {}, g.problems()
    _tap_precinct(page, 1.0, 0.5, touch=True)
    page.wait_for_selector("#gs-card:not([hidden])")
    assert "Серік Ахметов" in page.inner_text("#gs-card")
    assert g.problems() == {}
