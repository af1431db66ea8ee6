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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 at a free port in a daemon thread; yield its base URL."""
    from werkzeug.serving import WSGIRequestHandler, make_server

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
    from . import create_app

    app = create_app({"CITY": city, "DATABASE_URL": "sqlite://"})
    if "pages" not in app.blueprints:  # until make_app registers it
        from .api.pages import bp

        app.register_blueprint(bp)
    return app


def demo_address(city: Any) -> str:
    """A real address of the city to type in the search box (the first with a street and number)."""
    addresses = city.addresses
    rows = addresses[(addresses.street.fillna("") != "") & (addresses.housenumber.fillna("") != "")]
    row = rows.sort_values(["street", "housenumber"]).iloc[len(rows) // 2]
    return f"{row.street} {row.housenumber}"


def write_html(city: Any, out_dir: Path) -> list[Path]:
    """The precinct page in each language as files that open from ``out_dir``."""
    from .assets import VENDOR_DIR, configure_folium
    from .i18n import LANGS
    from .lookup import Lookup
    from .render import precinct_page, roads_geojson

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


def _guard(context: Any, problems: list[str]) -> None:
    def route(r: Any) -> None:
        parts = urlsplit(r.request.url)
        if parts.scheme in ("data", "blob") or parts.hostname in LOOPBACK:
            r.continue_()
        else:
            problems.append(f"blocked {r.request.url}")
            r.abort()

    context.route("**/*", route)


def screenshots(base_url: str, out_dir: Path, *, address: str) -> tuple[list[Path], list[str]]:
    """Photograph the pages; return the PNG paths and any problem seen (console errors, blocked requests)."""
    from playwright.sync_api import sync_playwright

    shots: list[Path] = []
    problems: list[str] = []
    plan = [
        ("precincts-phone", PHONE, "/precincts/map?lang=ru", None),
        ("precincts-phone-card", PHONE, "/precincts/map?lang=kk", address),
        ("precincts-desktop", DESKTOP, "/precincts/map?lang=en", address),
        ("home-phone", PHONE, "/?lang=kk", None),
        ("api-docs-desktop", DESKTOP, "/api/v1/docs?lang=en", None),
    ]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for name, device, path, query in plan:
                context = browser.new_context(service_workers="block", **device)
                _guard(context, problems)
                page = context.new_page()
                page.on("console", lambda m, n=name: m.type == "error" and problems.append(f"{n}: {m.text}"))
                page.on("pageerror", lambda e, n=name: problems.append(f"{n}: {e}"))
                page.goto(base_url + path, wait_until="load")
                if path.startswith("/precincts"):
                    page.wait_for_selector(".leaflet-overlay-pane path.leaflet-interactive")
                    if query:
                        page.fill("#gs-q", query)
                        page.click("#gs-go")
                        page.wait_for_selector("#gs-card:not([hidden]), #gs-candidates:not([hidden])")
                        if page.locator("#gs-candidates:not([hidden]) button").count():
                            page.locator("#gs-candidates button").first.click()
                            page.wait_for_selector("#gs-card:not([hidden])")
                        page.wait_for_timeout(400)  # the map's pan animation
                elif "docs" in path:
                    page.wait_for_selector(".swagger-ui .info", timeout=15000)
                page.evaluate("document.fonts.ready.then(() => true)")
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
    from .bundle import load_bundle
    from .demo import ensure_demo_bundle

    if not CHROMIUM.exists():
        msg = f"{CHROMIUM} is absent; fix: apt-get install chromium"
        raise RuntimeError(msg)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    city = load_bundle(ensure_demo_bundle())
    files = write_html(city, out)
    with serve(demo_app(city)) as base_url:
        shots, problems = screenshots(base_url, out, address=demo_address(city))
    if problems:
        msg = "the pages misbehaved while photographed: " + "; ".join(problems[:10])
        raise RuntimeError(msg)
    files += shots
    logger.info("maps: wrote %d files to %s", len(files), out)
    return files

