"""The balance proposal page's table on a phone and on a desktop, in Chromium.

At 390 x 844 (kk, ru, en) neither the page nor the table's panel scrolls sideways: each proposed
precinct is a card (its name, posts and status, then its figures, each with its label) and its
load per inspector and deviation from the target, before -> after, are on screen when the card
is; a precinct chosen on a card brings the map back into view. From 641 px the table keeps its
header row, and at 1280 x 800 its six columns fit the 580 px panel in every language. Real app
over the tiny city, a real balance run, the planner signed in through the sign-in form.
``balance-phone.png`` goes to ``maps/`` when ``GEO_SERVICE_SAVE_SCREENSHOTS=1``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from geo_service.cli.maps import DESKTOP, PHONE
from geo_service.pages.i18n import t
from geo_service.pages.kit import format_number

if TYPE_CHECKING:
    from tests.browser.conftest import BrowserCity, Guarded

pytestmark = pytest.mark.browser

#: How wide the page, the table's panel and the table are, and what each would scroll.
WIDTHS = """() => {
  const table = document.getElementById('gs-bal-table'), panel = document.getElementById('gs-workload');
  return {page: document.documentElement.scrollWidth, viewport: window.innerWidth,
          panel: panel.clientWidth, panelScroll: panel.scrollWidth,
          box: table.parentElement.clientWidth, table: table.scrollWidth};
}"""
#: The map is still and each base-map tile drawn (a screenshot then shows no half-zoomed tile).
SETTLED = """!document.querySelector('.leaflet-zoom-anim') && Array.prototype.every.call(
  document.querySelectorAll('.leaflet-tile-pane .leaflet-tile'), (t) => t.classList.contains('leaflet-tile-loaded'))"""
#: Whether the element's centre shows the element itself (nothing over it, not clipped away).
ON_TOP = """(e) => { const r = e.getBoundingClientRect();
  const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  return !!top && (top === e || e.contains(top)); }"""


@pytest.fixture(scope="module")
def proposal(tiny_city: Callable[..., BrowserCity]) -> tuple[BrowserCity, str, dict[str, Any]]:
    """The tiny city with a kept balance run (the first post short-staffed, so blocks move), and a
    planner's token."""
    city = tiny_city("osm")  # the extract's two police objects as posts
    planner = city.token("planner", name="Айгерім", subject="PL-1")
    posts = city.posts
    assert len(posts) >= 2
    body = city.balance(planner, {p: 1 if k == 0 else 3 for k, p in enumerate(posts)})
    assert body["moved_blocks"] and len(body["precincts"]) >= 2
    return city, planner, body


def _open(guarded_page: Callable[..., Guarded], proposal: tuple[BrowserCity, str, dict[str, Any]], lang: str,
          device: dict[str, Any]) -> Guarded:
    city, planner, body = proposal
    g = guarded_page(**device)
    g.sign_in(planner, at=f"{city.url}/sign-in?lang={lang}")
    g.page.goto(f"{city.url}/workload/balance/{body['id']}/map?lang={lang}", wait_until="load")
    assert "/sign-in" not in g.page.url, g.page.url
    g.page.wait_for_selector(".leaflet-overlay-pane path.leaflet-interactive", state="attached")
    g.page.evaluate("document.fonts.ready.then(() => true)")
    return g


def _two(before: Any, after: Any, decimals: int, lang: str) -> str:
    return f"{format_number(before, decimals, lang)} → {format_number(after, decimals, lang)}"


def _words(text: str) -> str:
    """The text with each run of white space (no-break and narrow ones too) as one space."""
    return " ".join(text.split())


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_the_table_fits_a_phone_as_cards(guarded_page: Callable[..., Guarded],
                                         proposal: tuple[BrowserCity, str, dict[str, Any]], maps_dir: Path,
                                         lang: str) -> None:
    g = _open(guarded_page, proposal, lang, PHONE)
    page = g.page
    w = page.evaluate(WIDTHS)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), w
    assert w["viewport"] == 390 and w["page"] <= 390
    # The table's own panel does not scroll sideways either (before: 450-600 px of table in 390).
    assert w["table"] <= w["box"] and w["panelScroll"] <= w["panel"], w
    assert not page.locator("#gs-bal-table thead").is_visible()  # the labels are on the cards
    units = {u["precinct_id"]: u for u in proposal[2]["precincts"]}
    rows = page.locator("#gs-bal-table tbody tr")
    assert rows.count() == len(units)
    for k in range(rows.count()):
        row = rows.nth(k)
        u = units[row.get_attribute("data-precinct")]
        row.scroll_into_view_if_needed()
        assert row.locator(".gs-wl-go").is_visible()
        for cls, label, value in (
                ("gs-bal-per", "balance_col_per_insp", _two(u["per_inspector_before"], u["per_inspector_after"],
                                                            2, lang)),
                ("gs-bal-res", "balance_col_residents", _two(u["residents_before"], u["residents_after"], 0, lang)),
                ("gs-bal-insp", "balance_col_inspectors_title", format_number(u["inspectors"], 0, lang))):
            cell = row.locator(f"td.{cls}")
            cell.scroll_into_view_if_needed()
            assert _words(cell.inner_text()) == _words(f"{t(label, lang)} {value}"), cls
            box = cell.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 390, (cls, box)
            assert cell.evaluate(ON_TOP), cls
        dev = row.locator("td.gs-bal-dev")
        dev.scroll_into_view_if_needed()
        text = _words(dev.inner_text())
        assert text.startswith(_words(t("balance_col_dev", lang))) and text.count("%") == 2 and dev.evaluate(ON_TOP)
    if lang == "ru":
        g.poll(SETTLED)
        rows.first.scroll_into_view_if_needed()
        page.screenshot(path=str(maps_dir / "balance-phone.png"))
    # A precinct chosen on a card is outlined, and the page goes back up to the map to show it.
    last = rows.last
    last.locator(".gs-wl-go").click()
    assert "gs-current" in (last.get_attribute("class") or "")
    g.poll("Math.abs(document.querySelector('.folium-map').getBoundingClientRect().top) <= 1", timeout_s=5)
    assert g.problems() == {}


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_the_table_keeps_its_columns_on_a_desktop(guarded_page: Callable[..., Guarded],
                                                  proposal: tuple[BrowserCity, str, dict[str, Any]],
                                                  lang: str) -> None:
    g = _open(guarded_page, proposal, lang, DESKTOP)
    page = g.page
    w = page.evaluate(WIDTHS)
    assert w["page"] <= 1280 and w["table"] <= w["box"] and w["panelScroll"] <= w["panel"], w
    heads = page.locator("#gs-bal-table thead th")
    assert heads.count() == 6 and heads.last.is_visible()
    panel = page.locator("#gs-workload").bounding_box()
    last = heads.last.bounding_box()
    assert last["x"] + last["width"] <= panel["x"] + panel["width"] + 1
    assert not page.locator("#gs-bal-table .gs-bal-label").first.is_visible()  # the header row names the columns
    assert g.problems() == {}
