"""``geo-service maps``: the demo city's pages as HTML files and PNG screenshots in ``maps/``.

Builds (or reuses) the demo bundle, renders the pages to HTML files that open from
the checkout (their scripts and styles are found at ``../geo_service/static``), then
serves the app on 127.0.0.1 and photographs the pages at phone and desktop sizes
with Debian's Chromium through Playwright. No request leaves the machine: the
browser is only allowed loopback addresses.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from werkzeug.serving import WSGIRequestHandler, make_server

from geo_service import create_app
from geo_service.bundle import load_bundle
from geo_service.ingest.demo import ensure_demo_bundle
from geo_service.lookup.service import Lookup
from geo_service.network.reach import isochrone
from geo_service.pages import precinct_page, roads_geojson, route_page, siting_page
from geo_service.pages.assets import VENDOR_DIR, configure_folium
from geo_service.pages.i18n import LANGS
from geo_service.web.context import STORE_EXT

logger = logging.getLogger(__name__)

#: The one browser-launch recipe (the ``maps`` command, the browser tests, the page benchmark):
#: Debian's Chromium, headless, with nothing that phones home.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
#: The only hosts a photographed page may ask for.
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


@contextmanager
def serve_in_thread(app: Any) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 at a free port in a daemon thread; yield its base URL."""

    class Quiet(WSGIRequestHandler):
        def log_request(self, *args: Any, **kwargs: Any) -> None:
            """No line per request."""

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=Quiet)
    thread = threading.Thread(target=server.serve_forever, name="geo-service-maps", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def demo_app(city: Any) -> Any:
    """The app over ``city`` with a private in-memory store (nothing written to disk)."""
    return create_app({"CITY": city, "DATABASE_URL": "sqlite://"})


def demo_address(city: Any) -> str:
    """A real address of the city to type in the search box (the first with a street and number)."""
    addresses = city.addresses
    rows = addresses[(addresses.street.fillna("") != "") & (addresses.housenumber.fillna("") != "")]
    row = rows.sort_values(["street", "housenumber"]).iloc[len(rows) // 2]
    return f"{row.street} {row.housenumber}"


def write_html(city: Any, out_dir: Path) -> list[Path]:
    """The precinct page in each language as files that open from ``out_dir``."""
    static = Path(os.path.relpath(VENDOR_DIR.parent, out_dir.resolve())).as_posix()
    collection = Lookup(city).precincts_geojson()
    roads = roads_geojson(city.walk)
    written = []
    try:
        for lang in LANGS:
            path = out_dir / f"precincts-{lang}.html"
            path.write_text(precinct_page(city, collection, lang=lang, static_url=static, roads=roads,
                                          register_service_worker=False), encoding="utf-8")
            written.append(path)
    finally:
        configure_folium("/static/vendor")
    return written


DEMO_INSPECTOR = "DEMO-UI-01"
DEMO_VISITS = 10


def demo_plan_and_siting(app: Any, city: Any) -> dict[str, Any]:
    """A kept plan of a demo inspector (``DEMO-UI-01``, or the one whose precinct has most
    addresses; about ten visits at addresses in that precinct), a
    signed link to it, and a kept MCLP result, made in-process through the API.

    Returns
    -------
    dict
        ``plan_id``, ``link`` (``/r/<token>``), ``siting_id``, ``planner`` (request headers),
        ``precinct_id`` (the demo inspector's precinct, for its public page).
    """
    store = app.extensions[STORE_EXT]
    lookup = Lookup(city)
    addresses = city.addresses
    rows = addresses[(addresses.street.fillna("") != "") & (addresses.housenumber.fillna("") != "")]
    rows = rows.sort_values(["street", "housenumber"])
    where = [(r, lookup.locate(float(r.lat), float(r.lon))) for r in rows.itertuples()]
    by_precinct: dict[str, list[Any]] = {}
    for r, found in where:
        if found is not None:
            by_precinct.setdefault(str(lookup.ids[found.index]), []).append(r)
    staffed = city.roster[city.roster.precinct_id.astype(str).isin(by_precinct)]
    if len(staffed) == 0:
        msg = "the demo city has no staffed precinct with addresses"
        raise RuntimeError(msg)
    # The demo inspector: DEMO-UI-01 if their precinct has addresses, else the one whose precinct has most.
    best = staffed.assign(n=[len(by_precinct[str(p)]) for p in staffed.precinct_id]).sort_values(
        "n", ascending=False, kind="stable")
    pick = best[best.inspector_id == DEMO_INSPECTOR]
    row = (pick if len(pick) and int(pick.n.iloc[0]) >= DEMO_VISITS else best).iloc[0]
    inspector_id, precinct_id = str(row.inspector_id), str(row.precinct_id)
    _, token = store.create_credential(name="maps-inspector", role="inspector", kind="user_token",
                                       subject=inspector_id, precinct_ids=(precinct_id,), expires_in=3600)
    inspector = {"Authorization": f"Bearer {token}"}
    _, token = store.create_credential(name="maps-planner", role="planner", kind="user_token", subject="maps",
                                       expires_in=3600)
    planner = {"Authorization": f"Bearer {token}"}

    inside = by_precinct[precinct_id]
    step = max(1, len(inside) // DEMO_VISITS)
    visits = [{"id": f"d{k + 1}", "lat": float(r.lat), "lon": float(r.lon), "minutes": 10,
               "label": f"{r.street} {r.housenumber}"} for k, r in enumerate(inside[::step][:DEMO_VISITS])]
    client = app.test_client()
    resp = client.post("/api/v1/routes/plan", headers=inspector, json={
        "inspector_id": inspector_id, "date": "2026-12-01", "visits": visits,
        "shift": {"start": "09:00", "end": "18:00", "reception": True}})
    if resp.status_code != 201:
        msg = f"the demo plan failed: {resp.get_json()}"
        raise RuntimeError(msg)
    plan_id = resp.get_json()["id"]
    link = client.post(f"/api/v1/routes/plans/{plan_id}/link", headers=inspector).get_json()["url"]
    resp = client.post("/api/v1/siting/solve", headers=planner, json={
        "model": "mclp", "minutes": 5, "p": 3, "mode": "walk", "existing": "posts", "time_limit": 30})
    if resp.status_code != 201:
        msg = f"the demo siting failed: {resp.get_json()}"
        raise RuntimeError(msg)
    return {"plan_id": plan_id, "link": link, "siting_id": resp.get_json()["id"], "planner": planner,
            "precinct_id": precinct_id}


def write_demo_pages(app: Any, city: Any, out_dir: Path, demo: dict[str, Any]) -> list[Path]:
    """The demo route page (with its GPX and sheet next to it) and siting page as files."""
    store = app.extensions[STORE_EXT]
    static = Path(os.path.relpath(VENDOR_DIR.parent, out_dir.resolve())).as_posix()
    kept = store.get_plan(demo["plan_id"])
    lookup = Lookup(city)
    i = lookup.index_of(kept.precinct_id)
    written = [out_dir / "route.gpx", out_dir / "route-sheet.html"]
    written[0].write_text(kept.body["gpx"], encoding="utf-8")
    written[1].write_text(kept.body["sheet_html"], encoding="utf-8")
    result = store.get_result(demo["siting_id"], kind="siting")["body"]
    graph = city.graph(result["request"]["mode"])
    areas = [isochrone(graph, s["lat"], s["lon"], float(result["request"]["minutes"]))
             for s in [*result["existing"], *result["chosen"]]]
    try:
        path = out_dir / "route-ru.html"
        path.write_text(route_page(city, kept.body["plan"], lang="ru", date=kept.body["date"], gpx_url="route.gpx",
                                   sheet_url="route-sheet.html", precinct=lookup.precinct_feature(i),
                                   post=lookup.precinct_info(i)["post"], static_url=static,
                                   register_service_worker=False), encoding="utf-8")
        written.append(path)
        path = out_dir / "siting-en.html"
        path.write_text(siting_page(city, result, areas, lang="en", static_url=static,
                                    register_service_worker=False), encoding="utf-8")
        written.append(path)
    finally:
        configure_folium("/static/vendor")
    return written


def _guard(context: Any, problems: list[str]) -> None:
    def route(r: Any) -> None:
        parts = urlsplit(r.request.url)
        if parts.scheme in ("data", "blob") or parts.hostname in LOOPBACK:
            r.continue_()
        else:
            problems.append(f"blocked {r.request.url}")
            r.abort()

    context.route("**/*", route)


def _record_errors(page: Any, name: str, problems: list[str]) -> None:
    """Note the page's console errors and uncaught exceptions in ``problems`` as ``<name>: <text>``."""

    def on_console(message: Any) -> None:
        if message.type == "error":
            problems.append(f"{name}: {message.text}")

    def on_error(error: Any) -> None:
        problems.append(f"{name}: {error}")

    page.on("console", on_console)
    page.on("pageerror", on_error)


#: True once the map (if the page has one) is still and each of its base-map tiles is drawn.
_SETTLED = """() => !document.querySelector('.leaflet-zoom-anim') &&
  Array.prototype.every.call(document.querySelectorAll('.leaflet-tile-pane .leaflet-tile'),
                             (t) => t.classList.contains('leaflet-tile-loaded'))"""


def _settle(page: Any, name: str, *, timeout_s: float = 10.0) -> None:
    """Wait until the page's map has stopped zooming and drawn its tiles, then a moment more (a
    screenshot taken earlier catches a zoom animation or grey squares). Polled with ``evaluate``:
    ``wait_for_function`` evaluates strings, which the pages' CSP forbids."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(_SETTLED):
        if time.monotonic() > deadline:
            logger.warning("maps: %s: the map did not settle in %.0f s", name, timeout_s)
            return
        page.wait_for_timeout(100)
    page.wait_for_timeout(300)


def screenshots(base_url: str, out_dir: Path, *, address: str,
                demo: dict[str, Any] | None = None) -> tuple[list[Path], list[str]]:
    """Photograph the pages; return the PNG paths and any problem seen (console errors, blocked requests).

    ``demo`` (`demo_plan_and_siting`) adds the route page (through its signed link), the
    siting and workload pages (with the planner's credentials) and a public precinct page.
    """
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - optional: only this command needs it

    shots: list[Path] = []
    problems: list[str] = []
    plan: list[tuple[str, dict[str, Any], str, Any]] = [
        ("precincts-phone", PHONE, "/precincts/map?lang=ru", None),
        ("precincts-phone-card", PHONE, "/precincts/map?lang=kk", address),
        ("precincts-desktop", DESKTOP, "/precincts/map?lang=en", address),
        ("home-phone", PHONE, "/?lang=kk", None),
        ("api-docs-desktop", DESKTOP, "/api/v1/docs?lang=en", None),
    ]
    if demo is not None:
        siting = f"/siting/{demo['siting_id']}/map"
        plan += [
            ("route-phone", PHONE, f"{demo['link']}?lang=ru", None),
            ("route-phone-kk", PHONE, f"{demo['link']}?lang=kk", "stop:4"),
            ("route-desktop", DESKTOP, f"{demo['link']}?lang=en", None),
            ("siting-desktop", {**DESKTOP, "extra_http_headers": demo["planner"]}, f"{siting}?lang=en", None),
            ("siting-phone", {**PHONE, "extra_http_headers": demo["planner"]}, f"{siting}?lang=ru", None),
            ("workload-desktop", {**DESKTOP, "extra_http_headers": demo["planner"]}, "/workload/map?lang=en", None),
            ("public-precinct-phone", PHONE, f"/p/{demo['precinct_id']}?lang=ru", None),
        ]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for name, device, path, query in plan:
                context = browser.new_context(service_workers="block", **device)
                _guard(context, problems)
                page = context.new_page()
                _record_errors(page, name, problems)
                page.goto(base_url + path, wait_until="load")
                if path.startswith("/precincts"):
                    # The precincts: drawn from the bundle's tiles, or GeoJSON paths for a bundle without tiles.
                    page.wait_for_selector(".leaflet-tile-pane canvas.leaflet-tile-loaded, "
                                           ".leaflet-overlay-pane path.leaflet-interactive", state="attached")
                    if query:
                        _settle(page, name)  # a search during the first zoom animation does not move the map
                        page.fill("#gs-q", query)
                        page.click("#gs-go")
                        page.wait_for_selector("#gs-card:not([hidden]), #gs-candidates:not([hidden])")
                        if page.locator("#gs-candidates:not([hidden]) button").count():
                            page.locator("#gs-candidates button").first.click()
                            page.wait_for_selector("#gs-card:not([hidden])")
                        page.wait_for_timeout(400)  # the map's pan animation
                elif path.startswith("/r/"):
                    page.wait_for_selector(".leaflet-marker-pane .gs-stop-icon")
                    if query:
                        _settle(page, name)  # Leaflet ignores a setView during its first zoom animation
                        page.locator(f".gs-stop-go[data-stop='{query.split(':')[1]}']").click()
                        page.wait_for_timeout(400)
                elif path.startswith("/workload/"):
                    page.wait_for_selector("#gs-scale-items li")
                    _settle(page, name)
                    page.locator(".gs-wl-go").first.click()
                    page.wait_for_selector("#gs-card:not([hidden])")
                    page.wait_for_timeout(400)  # the map's pan animation
                elif path.startswith("/p/"):
                    page.wait_for_selector(".leaflet-overlay-pane path")
                elif path.startswith("/siting/"):
                    page.wait_for_selector(".leaflet-marker-pane .gs-post-icon")
                    page.wait_for_timeout(300)  # the heat layer draws after the map settles
                elif "docs" in path:
                    page.wait_for_selector(".swagger-ui .info", timeout=15000)
                page.evaluate("document.fonts.ready.then(() => true)")
                _settle(page, name)
                shot = out_dir / f"{name}.png"
                page.screenshot(path=str(shot))
                shots.append(shot)
                context.close()
        finally:
            browser.close()
    return shots, problems


def render_maps(out_dir: str | os.PathLike[str] = "maps") -> list[Path]:
    """Build the demo bundle, write its pages to ``out_dir`` as HTML and PNG, return the files.

    Raises
    ------
    RuntimeError
        Chromium or Playwright is missing, or a page asked for a non-loopback address
        or logged a console error while being photographed.
    """
    if not CHROMIUM.exists():
        msg = f"{CHROMIUM} is absent; fix: apt-get install chromium"
        raise RuntimeError(msg)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    city = load_bundle(ensure_demo_bundle())
    files = write_html(city, out)
    app = demo_app(city)
    demo = demo_plan_and_siting(app, city)
    files += write_demo_pages(app, city, out, demo)
    with serve_in_thread(app) as base_url:
        shots, problems = screenshots(base_url, out, address=demo_address(city), demo=demo)
    if problems:
        msg = "the pages misbehaved while photographed: " + "; ".join(problems[:10])
        raise RuntimeError(msg)
    files += shots
    logger.info("maps: wrote %d files to %s", len(files), out)
    return files

