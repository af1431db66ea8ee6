"""What a person reads and taps on the planner's siting map and the inspector's route map, in Chromium.

- The siting map names each proposed site by its rank in the page's language ("Место 1") with
  its street or address on a second line, and an existing post by its name: no raw site id
  (``node-43.2554,76.9075``, ``grid-...``, ``building-...``) anywhere a planner reads (the
  table, the markers' tooltips); the raw id stays in the table's ``data-site`` attribute. The
  text drawn over the map is of a normal size and not faded, and the scale bar is metric, in
  the page's words, and not hidden under the attribution.
- The route map's post pin is the topmost element at its centre (visible and tappable above the
  stop markers, which used to cover it), a tap on it opens its tooltip, and a stop next to the
  post stays topmost at its own centre too (drawn beside the pin), at the fitted zoom and closer.
- The route map's scale bar on a phone (kk, ru) is metric only, in the page's words ("300 м"),
  and not covered by the attribution (the demo city's, which wraps to two lines there).

The app is the real one over the tiny city (`tests.browser.test_pages.pages_server`). The
screenshots go to ``GEO_SERVICE_SHOTS_DIR`` when it is set, else to a temporary folder.
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from geo_service.cli.maps import CHROMIUM, DESKTOP, PHONE
from geo_service.ingest.demo import DEMO_ATTRIBUTION
from geo_service.pages.i18n import t

if importlib.util.find_spec("playwright") is None:
    pytest.skip("playwright is not installed (pip install playwright==1.65.2)", allow_module_level=True)
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is absent (apt-get install chromium)", allow_module_level=True)

from tests.browser import test_pages as shared  # noqa: E402 - after the skips

pages_server = shared.pages_server  # the shared app fixture (its own instance in this module)
pages_url = shared.pages_url
route_link = shared.route_link
_bearer = shared._bearer
siting = shared.siting_auth  # a planner's kept siting result: its id and the planner's header

pytestmark = pytest.mark.browser

DEVICES = {"phone": PHONE, "desktop": DESKTOP}
#: A raw site label as `geo_service.siting.candidates` makes them.
RAW_ID = re.compile(r"\b(?:node|grid|building|existing|site)-[\d.]")
#: Text over a map: at least this readable, at most this big (px), and not faded (Leaflet's
#: tooltips are 0.9 opaque; text at opacity 0 is not shown at all: a tooltip on its way out).
FONT_PX = (11.0, 26.0)
MIN_OPACITY = 0.85

MAP_TEXT = """() => {
  const out = [];
  const walk = document.createTreeWalker(document.querySelector('.folium-map'), NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    const e = n.parentElement, text = n.textContent.trim();
    if (!text || !e.getClientRects().length) { continue; }
    const s = getComputedStyle(e);
    if (s.visibility === 'hidden' || s.display === 'none') { continue; }
    let opacity = 1;
    for (let a = e; a; a = a.parentElement) { opacity *= parseFloat(getComputedStyle(a).opacity); }
    out.push({text: text, px: parseFloat(s.fontSize), opacity: opacity});
  }
  return out;
}"""

#: The element at the centre of a box, as the marker it belongs to: "post", "stop:<n>" or its tag.
TOP_AT = """([x, y]) => {
  const e = document.elementFromPoint(x, y);
  const m = e && e.closest('.leaflet-marker-icon');
  if (!m) { return e ? e.tagName : null; }
  if (m.classList.contains('gs-post-icon')) { return 'post'; }
  return m.classList.contains('gs-stop-icon') ? 'stop:' + m.textContent.trim() : m.className;
}"""


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = os.environ.get("GEO_SERVICE_SHOTS_DIR")
    if where:
        path = Path(where)
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path_factory.mktemp("map-labels")


def _centre(box: dict[str, float]) -> list[float]:
    return [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2]


#: The page's Leaflet map, as a JS expression.
MAP = "window[document.querySelector('.folium-map').id]"
#: Zoom to z keeping the post where it is on the screen.
ZOOM_AROUND_POST = f"""(z) => {{ const m = {MAP}; let at = null;
  m.eachLayer(l => {{ const e = l.getElement && l.getElement();
                      if (e && e.classList.contains('gs-post-icon')) {{ at = l.getLatLng(); }} }});
  m.setZoomAround(at, z, {{animate: false}}); }}"""


def _near_words(lang: str) -> str:
    """The fixed words of "near {place}" in ``lang``."""
    return t("siting_near", lang, place="").strip(" :")


@pytest.mark.parametrize(("device", "lang"), [("desktop", "en"), ("desktop", "kk"), ("phone", "ru")])
def test_siting_sites_are_named_not_raw_ids(guarded_page: Callable[..., Any], pages_url: str,
                                            siting: dict[str, str], shots: Path, device: str, lang: str) -> None:
    g = guarded_page(**DEVICES[device], extra_http_headers={"Authorization": siting["Authorization"]})
    page = g.page
    page.goto(f"{pages_url}/siting/{siting['id']}/map?lang={lang}", wait_until="load")
    page.wait_for_selector(".leaflet-marker-pane .gs-post-icon", state="attached")
    page.evaluate("document.fonts.ready.then(() => true)")
    page.wait_for_timeout(300)  # the heat layer draws after the map settles
    page.screenshot(path=str(shots / f"siting-{device}-{lang}.png"))

    # The table: "Site 1", "Site 2" in the order it adds them, each with its street or address;
    # the raw id only in a data attribute.
    buttons = page.locator("#gs-marginal .gs-site-go")
    assert buttons.count() == 2
    for k in range(2):
        b = buttons.nth(k)
        lines = [x.strip() for x in b.inner_text().split("\n") if x.strip()]
        assert lines[0] == t("siting_site", lang, n=str(k + 1)), lines
        assert len(lines) == 2 and _near_words(lang) in lines[1], lines
        assert RAW_ID.match(b.get_attribute("data-site") or ""), b.get_attribute("data-site")
        size = float(b.evaluate("e => parseFloat(getComputedStyle(e).fontSize)"))
        assert FONT_PX[0] <= size <= FONT_PX[1], size
    visible = page.evaluate("document.body.innerText")
    assert not RAW_ID.search(visible), RAW_ID.findall(visible)

    # Each marker's tooltip: the site's name first, never a raw id.
    names = []
    markers = page.locator(".leaflet-marker-pane .gs-post-icon")
    assert markers.count() == 3
    for k in range(markers.count()):
        markers.nth(k).hover()
        tip = page.locator(".leaflet-tooltip-pane .leaflet-tooltip").last
        tip.wait_for(state="visible")
        text = tip.inner_text()
        assert not RAW_ID.search(text), text
        names.append(text.split("\n")[0].strip())
        page.mouse.move(2, 2)
    proposed = {t("siting_site", lang, n="1"), t("siting_site", lang, n="2")}
    assert proposed <= set(names) and len(set(names)) == 3, names
    page.locator(".leaflet-marker-pane .gs-site-proposed").first.hover()
    page.screenshot(path=str(shots / f"siting-{device}-{lang}-tooltip.png"))
    for item in page.evaluate(MAP_TEXT):  # the open tooltip too
        assert FONT_PX[0] <= item["px"] <= FONT_PX[1], item
    page.mouse.move(2, 2)
    page.wait_for_timeout(300)  # the tooltip fades out

    # Text over the map (controls, scale, attribution, tooltips) is of a normal size and not faded.
    shown = [item for item in page.evaluate(MAP_TEXT) if item["opacity"] > 0.01]
    assert shown
    for item in shown:
        assert FONT_PX[0] <= item["px"] <= FONT_PX[1], item
        assert item["opacity"] >= MIN_OPACITY, item
    # The scale bar: metric, in the page's words, and not under the attribution.
    scale = page.locator(".leaflet-control-scale-line")
    assert scale.count() == 1
    assert re.fullmatch(rf"\d+ ({t('unit_m', lang)}|{t('unit_km', lang)})", scale.inner_text().strip())
    covering = page.evaluate("""([x, y]) => { const e = document.elementFromPoint(x, y);
                                  return !!(e && e.closest('.leaflet-control-scale')); }""",
                             _centre(scale.bounding_box()))
    assert covering, "the scale bar is covered"
    assert g.problems() == {}, g.problems()


def _open_route(make: Callable[..., Any], url: str, device: str) -> Any:
    g = make(**DEVICES[device])
    g.page.goto(url, wait_until="load")
    g.page.wait_for_selector(".leaflet-marker-pane .gs-stop-icon", state="attached")
    g.page.wait_for_selector(".leaflet-marker-pane .gs-post-icon", state="attached")
    g.page.evaluate("document.fonts.ready.then(() => true)")
    return g


def _stops_near_post(page: Any, post: dict[str, float], within_px: float) -> list[Any]:
    near = []
    stops = page.locator(".leaflet-marker-pane .gs-stop-icon")
    px, py = _centre(post)
    for k in range(stops.count()):
        x, y = _centre(stops.nth(k).bounding_box())
        if abs(x - px) < within_px and abs(y - py) < within_px:
            near.append(stops.nth(k))
    return near


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_post_marker_is_above_the_stops(guarded_page: Callable[..., Any], pages_url: str,
                                        route_link: dict[str, str], shots: Path, device: str) -> None:
    g = _open_route(guarded_page, f"{pages_url}{route_link['url']}?lang=ru", device)
    page = g.page
    page.screenshot(path=str(shots / f"route-{device}.png"))
    zoom = int(page.evaluate(f"{MAP}.getZoom()"))
    for z in (zoom, zoom + 1, zoom + 2):
        page.evaluate(ZOOM_AROUND_POST, z)
        page.wait_for_timeout(150)
        post = page.locator(".leaflet-marker-pane .gs-post-icon").bounding_box()
        assert post is not None
        # The pin's head (its shield) is the topmost element there.
        head = [post["x"] + post["width"] / 2, post["y"] + post["height"] * 0.35]
        assert page.evaluate(TOP_AT, head) == "post", (z, page.evaluate(TOP_AT, head))
        # A stop next to the post (the test city's first visit) is not hidden under it either.
        near = _stops_near_post(page, post, 60)
        if z == zoom:
            assert near, "the test city's first stop lies next to its post at the fitted zoom"
        for stop in near:
            number = stop.inner_text().strip()
            assert page.evaluate(TOP_AT, _centre(stop.bounding_box())) == f"stop:{number}", (z, number)
    page.evaluate(ZOOM_AROUND_POST, zoom)
    page.wait_for_timeout(150)
    # Tapped (or clicked), the post says what it is.
    x, y = _centre(page.locator(".leaflet-marker-pane .gs-post-icon").bounding_box())
    if device == "phone":
        page.touchscreen.tap(x, y)
    else:
        page.mouse.move(x, y)
    tip = page.locator(".leaflet-tooltip-pane .leaflet-tooltip").last
    tip.wait_for(state="visible")
    assert tip.inner_text().startswith(t("post", "ru")), tip.inner_text()
    page.screenshot(path=str(shots / f"route-{device}-post-tapped.png"))
    assert g.problems() == {}, g.problems()


#: The scale bar's lines, their text, and whether the element at each line's centre is the scale
#: control or inside it (not the attribution or anything else drawn over it).
SCALE_LINES = """() => Array.from(document.querySelectorAll('.leaflet-control-scale-line')).map(e => {
  const r = e.getBoundingClientRect(), top = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
  return {text: e.textContent.trim(), w: r.width, on_top: !!(top && top.closest('.leaflet-control-scale'))};
})"""


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_route_scale_is_metric_in_the_page_words_and_uncovered(
        guarded_page: Callable[..., Any], pages_server: tuple[Any, str], pages_url: str, route_link: dict[str, str],
        shots: Path, monkeypatch: pytest.MonkeyPatch, lang: str) -> None:
    """On a 390 x 844 phone the route map's scale bar is one metric line ("300 м"): no "ft" or
    "mi", the unit in the page's language at a street zoom (metres) and a city zoom (kilometres),
    and the topmost element at its centre (it used to sit under the attribution, which wraps to
    two lines on a phone with the demo city's credit; the tiny city's short one fits on one)."""
    app, _ = pages_server
    monkeypatch.setitem(app.extensions["geo_service"].manifest, "attribution", DEMO_ATTRIBUTION)
    g = _open_route(guarded_page, f"{pages_url}{route_link['url']}?lang={lang}", "phone")
    page = g.page
    m, km = t("unit_m", lang), t("unit_km", lang)
    zoom = int(page.evaluate(f"{MAP}.getZoom()"))
    # The fitted zoom, a street (at most ~120 m in 100 px anywhere) and a city (at least ~5 km).
    for z, units in ((zoom, (m, km)), (17, (m,)), (10, (km,))):
        page.evaluate(f"(z) => {MAP}.setZoom(z, {{animate: false}})", z)
        page.wait_for_timeout(150)
        if z == zoom:
            page.screenshot(path=str(shots / f"route-scale-{lang}.png"))
        lines = page.evaluate(SCALE_LINES)
        covered = [x for x in lines if not (x["on_top"] and x["w"] > 10)]
        assert lines and not covered, f"the scale bar is covered at zoom {z}: {lines}"
        assert len(lines) == 1, (z, lines)  # metric only: no imperial line
        text = lines[0]["text"]
        assert not re.search(r"\b(?:ft|mi)\b", text), (z, text)
        assert re.fullmatch(rf"\d+ (?:{'|'.join(map(re.escape, units))})", text), (z, text, units)
    assert g.problems() == {}, g.problems()
